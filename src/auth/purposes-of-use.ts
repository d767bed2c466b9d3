/**
 * Purposes of use a client may state when it asks for a token (form parameter `purpose_of_use`,
 * space-separated), each one it is registered for; the token carries them and the access policy
 * and audit read them. Codes of the HL7 v3 PurposeOfUse value set, from the v3-ActReason code
 * system. See: https://terminology.hl7.org/ValueSet-v3-PurposeOfUse.html
 */
export const PURPOSE_OF_USE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

export const PURPOSES_OF_USE: ReadonlySet<string> = new Set([
  // treatment
  'TREAT', 'ETREAT', 'BTG', 'ERTREAT', 'CLINTRL', 'COC', 'POPHLTH',
  // payment
  'HPAYMT', 'CLMATTCH', 'COVAUTH', 'COVERAGE', 'ELIGDTRM', 'ELIGVER', 'ENROLLM', 'MILDCRG', 'REMITADV',
  // operations
  'HOPERAT', 'CAREMGT', 'DONAT', 'FRAUD', 'GOV', 'HACCRED', 'HCOMPL', 'HDECD', 'HDIRECT', 'HDM', 'HLEGAL',
  'HOUTCOMS', 'HPRGRP', 'HQUALIMP', 'HSYSADMIN', 'LABELING', 'METAMGT', 'MEMADMIN', 'MILCDM', 'PATADMIN',
  'PATSFTY', 'PERFMSR', 'RECORDMGT', 'SYSDEV', 'HTEST', 'TRAIN', 'HMARKT',
  // research, public health, requests by the patient or on their behalf
  'HRESCH', 'BIORCH', 'CLINTRCH', 'CLINTRCHNPC', 'CLINTRCHPC', 'PRECLINTRCH', 'DSRCH', 'POARCH', 'TRANSRCH',
  'PUBHLTH', 'DISASTER', 'THREAT', 'PATRQT', 'FAMRQT', 'PWATRNY', 'SUPNWK',
]);
