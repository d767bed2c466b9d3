package org.casebridge.interop;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeSystem;

/**
 * An independent conformance check: the HL7 validator engine (HAPI's FhirInstanceValidator, with
 * the R4 definitions and our profiles/ loaded, offline) validates every fixture resource against
 * the profiles it claims, then what a running CaseBridge answers: the CapabilityStatement, search,
 * _include, history and $everything Bundles, and error OperationOutcomes. Fails on any error, and
 * on any warning from our own profiles' constraints. Tolerated, and counted: codes of external
 * code systems (LOINC, NUCC, …) that cannot be checked offline, and the validator's complaint that
 * a history Bundle names one resource twice (history does, by definition).
 * Usage: ValidatorCheck <repository folder> <FHIR base URL>.
 */
public final class ValidatorCheck {
  private final FhirContext context = FhirContext.forR4();
  private final FhirValidator validator = context.newValidator();
  private final HttpClient http = HttpClient.newHttpClient();
  private final Map<String, Integer> tolerated = new TreeMap<>();
  private int failures;
  private int validated;

  private ValidatorCheck(Path repository) throws IOException {
    ProfileValidators.registerProfiles(context, validator, repository);
  }

  public static void main(String[] args) throws Exception {
    Path repository = Path.of(args.length > 0 ? args[0] : ".");
    String base = args.length > 1 ? args[1] : "http://localhost:8080/fhir";
    ValidatorCheck check = new ValidatorCheck(repository);
    check.fixtures(repository.resolve("fixtures"));
    check.responses(base);
    check.tolerated.forEach((kind, count) -> System.out.println("tolerated " + count + "× " + kind));
    System.out.println(check.failures == 0
        ? "HL7 validator check: " + check.validated + " resources and responses, no error"
        : "HL7 validator check: " + check.failures + " problem(s) in " + check.validated + " resources and responses");
    System.exit(check.failures == 0 ? 0 : 1);
  }

  private void fixtures(Path folder) throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(folder)) {
      files = walk.filter(f -> f.toString().endsWith(".json")).sorted().toList();
    }
    for (Path file : files) {
      Bundle bundle = context.newJsonParser().parseResource(Bundle.class, Files.readString(file));
      for (Bundle.BundleEntryComponent entry : bundle.getEntry()) {
        IBaseResource resource = entry.getResource();
        report(folder.relativize(file) + " " + resource.fhirType() + "/" + resource.getIdElement().getIdPart(),
            validator.validateWithResult(resource).getMessages());
      }
    }
  }

  private void responses(String base) throws IOException, InterruptedException {
    String patient = firstId(base + "/Patient?_count=1");
    List<String> paths = List.of(
        "metadata",
        "Patient?_count=5",
        "CarePlan?_include=CarePlan:goal&_include=CarePlan:care-team&_count=5",
        "Observation?_count=20",
        "Task?_revinclude=Provenance:target&_count=10",
        "Patient/" + patient + "/$everything?_count=50",
        "Patient/" + patient + "/_history",
        "_history?_count=20",
        "Patient?birthdate=not-a-date",
        "Patient/no-such-patient");
    for (String path : paths) {
      HttpResponse<String> response = http.send(get(base + "/" + path), HttpResponse.BodyHandlers.ofString());
      report("GET " + path + " (" + response.statusCode() + ")", validator.validateWithResult(response.body()).getMessages());
    }
  }

  /** A FHIR JSON GET, with CaseBridge's SMART access token (scripts/with-fresh-service.sh gets one). */
  private static HttpRequest get(String url) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).header("Accept", "application/fhir+json");
    String token = System.getenv("CASEBRIDGE_TOKEN");
    if (token != null && !token.isEmpty()) {
      request.header("Authorization", "Bearer " + token);
    }
    return request.build();
  }

  private String firstId(String url) throws IOException, InterruptedException {
    String body = http.send(get(url), HttpResponse.BodyHandlers.ofString()).body();
    return context.newJsonParser().parseResource(Bundle.class, body).getEntryFirstRep().getResource().getIdElement().getIdPart();
  }

  private void report(String what, List<SingleValidationMessage> messages) {
    validated++;
    for (SingleValidationMessage message : messages) {
      String text = message.getMessage();
      boolean serious = message.getSeverity() == ResultSeverityEnum.ERROR || message.getSeverity() == ResultSeverityEnum.FATAL;
      boolean ours = String.valueOf(message.getMessageId()).startsWith("http://casebridge.org/");
      if (serious && text.contains("CodeSystem is unknown and can't be validated")) {
        tolerated.merge("unknown external code system", 1, Integer::sum);
      } else if (serious && "Bundle_BUNDLE_MultipleMatches".equals(message.getMessageId()) && what.contains("_history")) {
        tolerated.merge("one resource named twice in a history Bundle", 1, Integer::sum);
      } else if (serious || (ours && message.getSeverity() == ResultSeverityEnum.WARNING)) {
        failures++;
        System.out.println("FAIL " + what + " " + message.getSeverity() + " at " + message.getLocationString() + ": " + text);
      }
    }
  }
}
