package org.casebridge.interop;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.PrePopulatedValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.CodeSystem;
import org.hl7.fhir.r4.model.StructureDefinition;
import org.hl7.fhir.r4.model.ValueSet;

/** The HL7 instance validator with R4's definitions and CaseBridge's profiles/ (offline). */
final class ProfileValidators {
  private ProfileValidators() {}

  /** Registers on `validator` the R4 definitions and the StructureDefinitions, ValueSets and CodeSystems of `repository/profiles`. */
  static void registerProfiles(FhirContext context, FhirValidator validator, Path repository) throws IOException {
    PrePopulatedValidationSupport ours = new PrePopulatedValidationSupport(context);
    try (Stream<Path> files = Files.list(repository.resolve("profiles"))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
        IBaseResource resource = context.newJsonParser().parseResource(Files.readString(file));
        if (resource instanceof StructureDefinition definition) {
          ours.addStructureDefinition(definition);
        } else if (resource instanceof ValueSet valueSet) {
          ours.addValueSet(valueSet);
        } else if (resource instanceof CodeSystem codeSystem) {
          ours.addCodeSystem(codeSystem);
        }
      }
    }
    validator.registerValidatorModule(new FhirInstanceValidator(new ValidationSupportChain(
        ours,
        new DefaultProfileValidationSupport(context),
        new CommonCodeSystemsTerminologyService(context),
        new InMemoryTerminologyServerValidationSupport(context),
        new SnapshotGeneratingValidationSupport(context))));
  }
}
