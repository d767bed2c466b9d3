/**
 * Deterministic synthetic case-management data for benchmarks, tests and seeding.
 *
 *   const pool = generatePool({ seed: 42 });
 *   load(toPoolBundle(pool));                       // once: agency, partners, staff, questionnaires
 *   for (const client of generateClients({ seed: 42, clients: 1000, referenceDate: '2025-06-30', pool })) {
 *     load(toTransactionBundle(client));            // one transaction per client
 *   }
 *
 * or toNdjson() / ndjsonLines() / writeDataset() for the bulk form. See README.md.
 */
export { generateClient, generateClients } from './client';
export type { ClientRecord, GenerateOptions } from './client';
export { ndjsonLines, patientCriteria, toNdjson, toPoolBundle, toTransactionBundle } from './emit';
export { GAD7, PHQ9, ANSWERS } from './instruments';
export type { Instrument } from './instruments';
export { generatePool } from './pool';
export type { SharedPool, StaffMember } from './pool';
export { writeDataset } from './write';
export type { DatasetSummary } from './write';
export { SYSTEM as SYNTHETIC_SYSTEM } from './vocabulary';
