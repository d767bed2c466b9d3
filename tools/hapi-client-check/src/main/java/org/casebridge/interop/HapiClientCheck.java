package org.casebridge.interop;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.client.api.IClientInterceptor;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.IHttpRequest;
import ca.uhn.fhir.rest.client.api.IHttpResponse;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.CarePlan;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.DateType;
import org.hl7.fhir.r4.model.Enumerations.AdministrativeGender;
import org.hl7.fhir.r4.model.Goal;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;

/**
 * Drives a running CaseBridge with HAPI FHIR's generic client, the client most Java integration
 * engines embed, the way such an engine would: each step uses the client's own API (it builds the
 * URLs, headers and bodies), and fails on anything a HAPI user would notice. Exit status 1 when a
 * step fails. Usage: HapiClientCheck [base URL, default http://localhost:8080/fhir].
 */
public final class HapiClientCheck {
  private final IGenericClient client;
  /** The wire of the current step, printed when it fails. */
  private final List<String> wire = new ArrayList<>();
  private final String run = Long.toString(System.currentTimeMillis(), 36);
  private int failures;

  private HapiClientCheck(String baseUrl) {
    FhirContext context = FhirContext.forR4();
    // HAPI reads /metadata once before the first call, as it does with any server.
    context.getRestfulClientFactory().setServerValidationMode(ServerValidationModeEnum.ONCE);
    client = context.newRestfulGenericClient(baseUrl);
    client.setEncoding(EncodingEnum.JSON);
    // CaseBridge needs a SMART access token (scripts/with-fresh-service.sh gets one).
    String token = System.getenv("CASEBRIDGE_TOKEN");
    if (token != null && !token.isEmpty()) {
      client.registerInterceptor(new BearerTokenAuthInterceptor(token));
    }
    client.registerInterceptor(new IClientInterceptor() {
      @Override
      public void interceptRequest(IHttpRequest request) {
        wire.add(">> " + request.getHttpVerbName() + " " + request.getUri() + " " + request.getAllHeaders());
      }

      @Override
      public void interceptResponse(IHttpResponse response) {
        wire.add("<< " + response.getStatus() + " " + response.getStatusInfo());
      }
    });
  }

  public static void main(String[] args) {
    HapiClientCheck check = new HapiClientCheck(args.length > 0 ? args[0] : "http://localhost:8080/fhir");
    check.runAll();
    System.out.println(check.failures == 0 ? "HAPI client check: every step passed" : "HAPI client check: " + check.failures + " step(s) failed");
    System.exit(check.failures == 0 ? 0 : 1);
  }

  private interface Step {
    String run() throws Exception;
  }

  private void step(String name, Step step) {
    wire.clear();
    try {
      System.out.println("PASS " + name + ": " + step.run());
    } catch (AssertionError | Exception e) {
      failures++;
      String detail = e instanceof BaseServerResponseException response
          ? "HTTP " + response.getStatusCode() + " " + response.getMessage() + "\n     body: " + response.getResponseBody()
          : e.toString();
      System.out.println("FAIL " + name + ": " + detail);
      wire.forEach(line -> System.out.println("     " + line));
    }
  }

  private static void expect(boolean condition, String message) {
    if (!condition) {
      throw new AssertionError(message);
    }
  }

  private Patient newPatient(String family) {
    Patient patient = new Patient();
    patient.addIdentifier().setSystem("urn:casebridge:hapi-check").setValue(family + "-" + run);
    patient.addName().setFamily(family).addGiven("Hapi");
    patient.setGender(AdministrativeGender.FEMALE);
    patient.setBirthDateElement(new DateType("1990-04-05"));
    return patient;
  }

  private void runAll() {
    step("capabilities", () -> {
      CapabilityStatement statement = client.capabilities().ofType(CapabilityStatement.class).execute();
      expect("4.0.1".equals(statement.getFhirVersion().toCode()), "fhirVersion " + statement.getFhirVersion());
      return statement.getRestFirstRep().getResource().size() + " resource types";
    });

    IIdType[] patientId = new IIdType[1];
    step("create, read, update with If-Match, stale update refused", () -> {
      MethodOutcome created = client.create().resource(newPatient("Interop")).execute();
      expect(Boolean.TRUE.equals(created.getCreated()), "not created");
      patientId[0] = created.getId().toUnqualifiedVersionless();
      Patient read = client.read().resource(Patient.class).withId(patientId[0]).execute();
      expect("1".equals(read.getMeta().getVersionId()), "versionId " + read.getMeta().getVersionId());
      read.addTelecom().setSystem(org.hl7.fhir.r4.model.ContactPoint.ContactPointSystem.PHONE).setValue("555-0100");
      // The id carries version 1, so HAPI sends If-Match: W/"1".
      MethodOutcome updated = client.update().resource(read).withId(read.getIdElement()).execute();
      expect("2".equals(updated.getId().getVersionIdPart()), "version after update " + updated.getId());
      try {
        client.update().resource(read).withId(read.getIdElement()).execute();
        throw new AssertionError("a stale If-Match was accepted");
      } catch (PreconditionFailedException expected) {
        return patientId[0].getValue() + " at version 2; stale update 412";
      }
    });

    step("conditional create (where, and by URL) makes one resource", () -> {
      String value = "cond-" + run;
      Patient patient = newPatient("Conditional");
      patient.getIdentifierFirstRep().setValue(value);
      MethodOutcome first = client.create().resource(patient).conditional()
          .where(Patient.IDENTIFIER.exactly().systemAndIdentifier("urn:casebridge:hapi-check", value)).execute();
      MethodOutcome second = client.create().resource(patient)
          .conditionalByUrl("Patient?identifier=urn:casebridge:hapi-check|" + value).execute();
      expect(Boolean.TRUE.equals(first.getCreated()), "first not created");
      expect(!Boolean.TRUE.equals(second.getCreated()), "second created again");
      expect(first.getId().getIdPart().equals(second.getId().getIdPart()), "two ids: " + first.getId() + ", " + second.getId());
      return "one Patient " + first.getId().getIdPart();
    });

    step("conditional update twice, then conditional delete", () -> {
      String value = "upd-" + run;
      Patient patient = newPatient("CondUpdate");
      patient.getIdentifierFirstRep().setValue(value);
      MethodOutcome first = client.update().resource(patient).conditional()
          .where(Patient.IDENTIFIER.exactly().systemAndIdentifier("urn:casebridge:hapi-check", value)).execute();
      MethodOutcome second = client.update().resource(patient).conditional()
          .where(Patient.IDENTIFIER.exactly().systemAndIdentifier("urn:casebridge:hapi-check", value)).execute();
      expect(Boolean.TRUE.equals(first.getCreated()), "first conditional update did not create");
      expect(first.getId().getIdPart().equals(second.getId().getIdPart()), "second conditional update hit another resource");
      client.delete().resourceConditionalByUrl("Patient?identifier=urn:casebridge:hapi-check|" + value).execute();
      Bundle after = client.search().byUrl("Patient?identifier=urn:casebridge:hapi-check|" + value).returnBundle(Bundle.class).execute();
      expect(after.getEntry().isEmpty(), "still found after the conditional delete");
      return "created, updated, deleted " + first.getId().getIdPart();
    });

    step("12 Observations, paged by 5 through next links, decimals kept", () -> {
      for (int i = 0; i < 12; i++) {
        Observation observation = new Observation();
        observation.setStatus(Observation.ObservationStatus.FINAL);
        observation.getCode().addCoding().setSystem("http://loinc.org").setCode("44261-6");
        observation.setSubject(new Reference(patientId[0].getValue()));
        observation.setValue(new Quantity().setValue(new BigDecimal(i + ".50")).setSystem("http://unitsofmeasure.org").setCode("{score}"));
        client.create().resource(observation).execute();
      }
      Bundle page = client.search().forResource(Observation.class).where(Observation.SUBJECT.hasId(patientId[0])).count(5).returnBundle(Bundle.class).execute();
      Set<String> ids = new HashSet<>();
      int pages = 0;
      while (true) {
        pages++;
        for (Bundle.BundleEntryComponent entry : page.getEntry()) {
          ids.add(entry.getResource().getIdElement().getIdPart());
          String value = ((Observation) entry.getResource()).getValueQuantity().getValue().toPlainString();
          expect(value.endsWith(".50"), "decimal precision lost: " + value);
        }
        if (page.getLink(Bundle.LINK_NEXT) == null) {
          break;
        }
        page = client.loadPage().next(page).execute();
      }
      expect(pages == 3 && ids.size() == 12, pages + " pages, " + ids.size() + " distinct Observations");
      return "3 pages, 12 distinct";
    });

    String[] carePlanId = new String[1];
    step("transaction with urn:uuid references, then _include", () -> {
      Bundle transaction = new Bundle().setType(Bundle.BundleType.TRANSACTION);
      List<Reference> goals = new ArrayList<>();
      for (String text : List.of("Reduce anxiety", "Keep housing")) {
        String fullUrl = "urn:uuid:" + UUID.randomUUID();
        Goal goal = new Goal();
        goal.setLifecycleStatus(Goal.GoalLifecycleStatus.ACTIVE);
        goal.getDescription().setText(text);
        goal.setSubject(new Reference(patientId[0].getValue()));
        transaction.addEntry().setFullUrl(fullUrl).setResource(goal).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Goal");
        goals.add(new Reference(fullUrl));
      }
      CarePlan plan = new CarePlan();
      plan.setStatus(CarePlan.CarePlanStatus.ACTIVE);
      plan.setIntent(CarePlan.CarePlanIntent.PLAN);
      plan.setSubject(new Reference(patientId[0].getValue()));
      plan.setGoal(goals);
      transaction.addEntry().setFullUrl("urn:uuid:" + UUID.randomUUID()).setResource(plan).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("CarePlan");
      Bundle response = client.transaction().withBundle(transaction).execute();
      expect(response.getType() == Bundle.BundleType.TRANSACTIONRESPONSE, "type " + response.getType());
      carePlanId[0] = new IdType(response.getEntry().get(2).getResponse().getLocation()).getIdPart();
      Bundle found = client.search().forResource(CarePlan.class).where(CarePlan.RES_ID.exactly().code(carePlanId[0]))
          .include(CarePlan.INCLUDE_GOAL).returnBundle(Bundle.class).execute();
      long included = found.getEntry().stream().filter(e -> e.getResource() instanceof Goal).count();
      expect(included == 2, included + " goals included");
      return "CarePlan " + carePlanId[0] + " with 2 goals included";
    });

    step("history and vread", () -> {
      Bundle history = client.history().onInstance(patientId[0]).returnBundle(Bundle.class).execute();
      expect(history.getType() == Bundle.BundleType.HISTORY && history.getEntry().size() == 2, history.getEntry().size() + " versions");
      Patient first = client.read().resource(Patient.class).withIdAndVersion(patientId[0].getIdPart(), "1").execute();
      expect(first.getTelecom().isEmpty(), "version 1 has the telecom of version 2");
      return "2 versions";
    });

    step("batch: read, create, missing read, search", () -> {
      Bundle batch = new Bundle().setType(Bundle.BundleType.BATCH);
      batch.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl(patientId[0].getValue());
      batch.addEntry().setResource(newPatient("Batch")).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
      batch.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Patient/missing-" + run);
      batch.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("CarePlan?_id=" + carePlanId[0]);
      Bundle response = client.transaction().withBundle(batch).execute();
      List<String> statuses = response.getEntry().stream().map(e -> e.getResponse().getStatus().substring(0, 3)).toList();
      expect(statuses.equals(List.of("200", "201", "404", "200")), "statuses " + statuses);
      return "statuses " + statuses;
    });

    step("JSON Patch and FHIRPath Patch", () -> {
      client.patch().withBody("[{\"op\":\"replace\",\"path\":\"/gender\",\"value\":\"male\"}]").withId(patientId[0]).execute();
      Parameters patch = new Parameters();
      Parameters.ParametersParameterComponent operation = patch.addParameter().setName("operation");
      operation.addPart().setName("type").setValue(new CodeType("replace"));
      operation.addPart().setName("path").setValue(new StringType("Patient.name.family"));
      operation.addPart().setName("value").setValue(new StringType("Patched"));
      client.patch().withFhirPatch(patch).withId(patientId[0]).execute();
      Patient read = client.read().resource(Patient.class).withId(patientId[0]).execute();
      expect(read.getGender() == AdministrativeGender.MALE, "gender " + read.getGender());
      expect("Patched".equals(read.getNameFirstRep().getFamily()), "family " + read.getNameFirstRep().getFamily());
      return "version " + read.getMeta().getVersionId();
    });

    step("$validate", () -> {
      Patient invalid = newPatient("Invalid");
      invalid.addTelecom().setValue("555-0199"); // cpt-2: a value needs a system
      MethodOutcome outcome = client.validate().resource(invalid).execute();
      OperationOutcome issues = (OperationOutcome) outcome.getOperationOutcome();
      expect(issues.getIssue().stream().anyMatch(i -> i.getSeverity() == OperationOutcome.IssueSeverity.ERROR), "no error for cpt-2");
      return issues.getIssue().size() + " issue(s)";
    });

    step("Patient/$everything", () -> {
      Bundle everything = client.operation().onInstance(patientId[0]).named("$everything").withNoParameters(Parameters.class)
          .useHttpGet().returnResourceType(Bundle.class).execute();
      int entries = everything.getEntry().size();
      while (everything.getLink(Bundle.LINK_NEXT) != null) {
        everything = client.loadPage().next(everything).execute();
        entries += everything.getEntry().size();
      }
      // The patient, 12 Observations, 2 Goals and the CarePlan.
      expect(entries == 16, entries + " resources");
      return entries + " resources";
    });

    step("delete, then read is 410", () -> {
      client.delete().resourceById(patientId[0]).execute();
      try {
        client.read().resource(Patient.class).withId(patientId[0]).execute();
        throw new AssertionError("read after delete succeeded");
      } catch (ResourceGoneException expected) {
        return "410";
      }
    });
  }
}
