/** Scoring of CaseBridge's standard instruments: pure, no I/O. */
export { BANDS, BAND_DISPLAYS, type BandCode, SEVERITY_BAND_SYSTEM, type SeverityBand, bandFor } from './bands';
export { type InstrumentScore, type ItemScore, SCORED_STATUSES, scoreResponse } from './score';
export { answeredItems } from './answers';
