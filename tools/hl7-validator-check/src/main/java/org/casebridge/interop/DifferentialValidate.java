package org.casebridge.interop;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

/**
 * The reference side of the differential validation harness (scripts/validation-differential.sh):
 * reads cases as JSON lines ({"id", "resource"}), validates each resource's JSON text with the HL7
 * validator engine (HAPI's FhirInstanceValidator, R4 definitions and our profiles/, offline), and
 * writes one JSON line per case: {"id", "messages": [{"severity", "location", "messageId", "message"}]}.
 * Judging (what counts as an error, which messages are terminology) is left to the JS side.
 * Usage: DifferentialValidate <repository folder> <cases.jsonl> <out.jsonl>.
 */
public final class DifferentialValidate {
  public static void main(String[] args) throws Exception {
    Path repository = Path.of(args[0]);
    FhirContext context = FhirContext.forR4();
    FhirValidator validator = context.newValidator();
    ProfileValidators.registerProfiles(context, validator, repository);
    Gson gson = new Gson();
    int n = 0;
    long started = System.currentTimeMillis();
    try (BufferedReader in = Files.newBufferedReader(Path.of(args[1]));
        BufferedWriter out = Files.newBufferedWriter(Path.of(args[2]))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        JsonObject c = gson.fromJson(line, JsonObject.class);
        String id = c.get("id").getAsString();
        String text = c.get("text").getAsString();
        List<Map<String, String>> messages = new ArrayList<>();
        try {
          for (SingleValidationMessage m : validator.validateWithResult(text).getMessages()) {
            Map<String, String> row = new LinkedHashMap<>();
            row.put("severity", m.getSeverity() == null ? "" : m.getSeverity().getCode());
            row.put("location", String.valueOf(m.getLocationString()));
            row.put("messageId", String.valueOf(m.getMessageId()));
            row.put("message", String.valueOf(m.getMessage()));
            messages.add(row);
          }
        } catch (RuntimeException e) {
          Map<String, String> row = new LinkedHashMap<>();
          row.put("severity", ResultSeverityEnum.FATAL.getCode());
          row.put("location", "");
          row.put("messageId", "exception");
          row.put("message", e.toString());
          messages.add(row);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("id", id);
        result.put("messages", messages);
        out.write(gson.toJson(result));
        out.newLine();
        if (++n % 500 == 0) {
          System.err.println("reference validator: " + n + " cases, " + (System.currentTimeMillis() - started) / 1000 + " s");
        }
      }
    }
    System.err.println("reference validator: " + n + " cases in " + (System.currentTimeMillis() - started) / 1000 + " s");
  }
}
