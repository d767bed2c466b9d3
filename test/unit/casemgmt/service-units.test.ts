import { SERVICES, minutesBetween, unitsFor } from '../../../src/casemgmt/service-units';

describe('the 15-minute unit rule', () => {
  test.each([
    [0, 0],
    [7, 0],
    [8, 1],
    [15, 1],
    [22, 1],
    [23, 2],
    [30, 2],
    [38, 3],
    [60, 4],
    [-5, 0],
  ])('%i minutes: %i units', (minutes, units) => {
    expect(unitsFor(minutes)).toBe(units);
  });
  test('minutes between date-times; undefined without times', () => {
    expect(minutesBetween('2025-03-03T16:00:00Z', '2025-03-03T16:38:30Z')).toBe(38);
    expect(minutesBetween('2025-03-03T16:00:00-05:00', '2025-03-03T21:10:00Z')).toBe(10);
    expect(minutesBetween('2025-03-03', '2025-03-03')).toBeUndefined();
    expect(minutesBetween('2025-03-03T16:00:00Z', undefined)).toBeUndefined();
  });
  test('targeted case management is T1017, case management T1016', () => {
    expect(SERVICES['targeted-case-management'].hcpcs.code).toBe('T1017');
    expect(SERVICES['case-management'].hcpcs.code).toBe('T1016');
    expect('hcpcs' in SERVICES['care-coordination']).toBe(false);
  });
});
