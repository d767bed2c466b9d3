import type { EpisodeOfCare } from '@medplum/fhirtypes';
import type { FhirError } from '../../../src/fhir/outcomes';
import { allowedMoves, assertCommandAllowed, assertMove } from '../../../src/casemgmt/lifecycle';

const episode = (status: EpisodeOfCare['status'], end?: string): EpisodeOfCare & { id: string } => ({
  resourceType: 'EpisodeOfCare',
  id: 'c1',
  status,
  patient: { reference: 'Patient/p' },
  period: { start: '2025-01-01', ...(end ? { end } : {}) },
});

function refusal(fn: () => void): FhirError {
  try {
    fn();
  } catch (e) {
    return e as FhirError;
  }
  throw new Error('not refused');
}

describe('the case state machine', () => {
  test('the moves allowed from each state', () => {
    expect(allowedMoves('planned')).toEqual(['waitlist (change-case-status)', 'active (change-case-status)', 'cancelled (change-case-status)']);
    expect(allowedMoves('active')).toEqual(['onhold (change-case-status)', 'finished (close-case or transfer-case)']);
    expect(allowedMoves('finished')).toEqual(['active (reopen-case)']);
    expect(allowedMoves('entered-in-error')).toEqual([]);
  });

  test('a move made by the right command passes; by another command or to another state it is refused', () => {
    expect(() => assertMove(episode('waitlist'), 'active', 'change-case-status')).not.toThrow();
    expect(() => assertMove(episode('onhold'), 'finished', 'close-case')).not.toThrow();
    expect(refusal(() => assertMove(episode('finished', '2025-02-01'), 'active', 'change-case-status')).message).toBe(
      'Case c1 is finished (since 2025-02-01): it cannot become active by change-case-status; from finished it may become active (reopen-case)',
    );
    expect(refusal(() => assertMove(episode('entered-in-error'), 'active', 'reopen-case')).message).toMatch(/may become nothing else$/);
  });

  test('commands that are not moves run in some states only', () => {
    expect(() => assertCommandAllowed(episode('active'), 'create-service-plan', 'create a plan')).not.toThrow();
    expect(() => assertCommandAllowed(episode('cancelled'), 'log-contact', 'log a contact')).not.toThrow();
    const refused = refusal(() => assertCommandAllowed(episode('waitlist'), 'record-progress', 'record progress'));
    expect(refused.message).toBe('Case c1 is on the waitlist: cannot record progress (allowed when the case is active)');
  });
});
