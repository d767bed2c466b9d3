// When rounds run: a write asks for one at once, but while writes keep coming the rounds a write
// asks for start no sooner than a quarter of a second after the last one ended (runtime.ts).
// The rounds' own work is a counting worker; the built-in subscription worker finds no
// repository here and its failure is logged (quietly) like any worker's.
import type { FhirServices } from '../../../src/core/services';
import { createLogger } from '../../../src/platform/logger';
import type { WorkflowRecords } from '../../../src/store/records';
import { Workflows } from '../../../src/workflows/runtime';

const INTERVAL_MS = 60_000;

function workflows(): { workflows: Workflows; rounds: number[] } {
  const services = { now: () => new Date(), settings: { baseUrl: 'http://casebridge.test/fhir' } } as unknown as FhirServices;
  const w = new Workflows({
    services,
    records: {} as WorkflowRecords,
    auditLog: { record: async () => undefined } as never,
    clientActive: async () => true,
    settings: { subscriptionEndpointOrigins: [], referralPollSeconds: 900, bulkExportTtlSeconds: 3600, cdexAutomatic: false, intervalMs: INTERVAL_MS, outboundTimeoutMs: 1000 },
    logger: createLogger('silent'),
  });
  const rounds: number[] = [];
  w.add({ name: 'counting', run: async () => (rounds.push(performance.now()), 0) });
  return { workflows: w, rounds };
}

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

test('a lone write runs a round at once', async () => {
  const { workflows: w, rounds } = workflows();
  w.start();
  await jest.advanceTimersByTimeAsync(5_000);
  expect(rounds).toHaveLength(0);
  w.nudge();
  await jest.advanceTimersByTimeAsync(0);
  expect(rounds).toHaveLength(1);
  // Quiet for longer than the spacing: the next write is served at once too.
  await jest.advanceTimersByTimeAsync(1_000);
  w.nudge();
  await jest.advanceTimersByTimeAsync(0);
  expect(rounds).toHaveLength(2);
  await w.stop();
});

test('writes that keep coming run rounds a quarter of a second apart, not back to back', async () => {
  const { workflows: w, rounds } = workflows();
  w.start();
  // A write every 10 ms for 2 s.
  for (let t = 0; t < 2_000; t += 10) {
    w.nudge();
    await jest.advanceTimersByTimeAsync(10);
  }
  // Back to back, every nudge would have run a round (200); spaced, about one per 250 ms.
  expect(rounds.length).toBeGreaterThanOrEqual(8);
  expect(rounds.length).toBeLessThanOrEqual(9);
  for (let i = 1; i < rounds.length; i++) {
    expect((rounds[i] as number) - (rounds[i - 1] as number)).toBeGreaterThanOrEqual(250);
  }
  // The last write is not lost: a round starts after it, within the spacing.
  const lastWrite = performance.now() - 10;
  await jest.advanceTimersByTimeAsync(300);
  expect(rounds.filter((at) => at > lastWrite && at <= lastWrite + 250)).toHaveLength(1);
  await w.stop();
});
