/**
 * One synthetic case-management client: its plan rendered as FHIR. Client i depends only on
 * (seed, i, referenceDate), so any range of clients can be generated on its own and the first
 * 1,000 clients of a 10,000-client data set are the 1,000-client data set.
 */
import type { Resource } from '@medplum/fhirtypes';
import { planClient } from './plan';
import { generatePool, assertSeed } from './pool';
import type { SharedPool } from './pool';
import { Random, STREAM } from './random';
import { renderClient } from './resources';
import { parseDay } from './time';
import { SYSTEM } from './vocabulary';

export interface ClientRecord {
  readonly seed: number;
  readonly index: number;
  /** The Patient's business identifier (system urn:casebridge:synthetic:client). */
  readonly identifier: { readonly system: string; readonly value: string };
  /** True when the client has a substance use disorder and some resources carry 42 CFR Part 2 labels. */
  readonly partTwo: boolean;
  /** The client's resources, Patient first; ids are UUIDs, references `Type/id`. */
  readonly resources: readonly Resource[];
}

export interface GenerateOptions {
  /** Integer in [0, 2^32 - 1]. */
  readonly seed: number;
  /** Number of clients. */
  readonly clients: number;
  /** YYYY-MM-DD: every date falls in the year before it (local time of the agency). */
  readonly referenceDate: string;
  /** Index of the first client (default 0): generate fresh clients beyond a loaded set. */
  readonly firstIndex?: number;
  /** The shared pool, when the caller has it already (it is a pure function of the seed). */
  readonly pool?: SharedPool;
}

export function generateClient(options: { seed: number; index: number; referenceDate: string; pool?: SharedPool }): ClientRecord {
  const { seed, index } = options;
  assertSeed(seed);
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new RangeError(`client index must be an integer in [0, 2^32 - 1], got ${index}`);
  }
  const pool = options.pool ?? generatePool({ seed });
  if (pool.seed !== seed) {
    throw new RangeError(`the pool was generated from seed ${pool.seed}, not ${seed}`);
  }
  const rng = Random.of(seed, STREAM.client, index);
  const plan = planClient(rng, { seed, index, refDay: parseDay(options.referenceDate), pool });
  return {
    seed,
    index,
    identifier: { system: SYSTEM.client, value: plan.identifierValue },
    partTwo: plan.partTwo,
    resources: renderClient(rng, plan, pool),
  };
}

/**
 * Clients firstIndex … firstIndex + clients - 1, generated lazily (one at a time, as iterated).
 * Options are checked at the call, not at the first iteration.
 */
export function generateClients(options: GenerateOptions): Generator<ClientRecord> {
  const { seed, clients, referenceDate } = options;
  assertSeed(seed);
  parseDay(referenceDate);
  const first = options.firstIndex ?? 0;
  if (!Number.isInteger(clients) || clients < 0 || !Number.isInteger(first) || first < 0 || first + clients > 0x100000000) {
    throw new RangeError(`clients and firstIndex must be non-negative integers with firstIndex + clients <= 2^32, got ${clients} and ${first}`);
  }
  const pool = options.pool ?? generatePool({ seed });
  return (function* () {
    for (let i = 0; i < clients; i++) {
      yield generateClient({ seed, index: first + i, referenceDate, pool });
    }
  })();
}
