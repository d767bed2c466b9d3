/**
 * All-or-nothing transaction Bundles without multi-document transactions (FerretDB has none).
 *
 * The transaction first takes the locks of every resource it will write (so no other writer can
 * interleave), then records a journal document listing them; each write tags the new current
 * version with the transaction id. Removing the journal is the commit point. On a failure the
 * tagged writes are undone in reverse order while the locks are still held. A journal that
 * outlives its lease (its process died mid-apply) is rolled back by the next process that
 * starts, or as soon as a writer meets one of its tags.
 */
import type { Collection, Db } from 'mongodb';
import { FhirError } from '../../fhir/outcomes';
import { newId } from '../../platform/ids';
import { ensureIndexes } from './indexes';
import { type Locks, resourceLockName } from './locks';

type Target = { type: string; id: string };

interface JournalDoc {
  _id: string;
  state: 'applying' | 'rolling-back';
  startedAt: Date;
  /** After this instant the transaction is presumed abandoned and may be rolled back. */
  leaseUntil: Date;
  targets: { type: string; id: string }[];
}

export interface Journal {
  /** Rolls back every transaction whose lease has expired. Returns how many. */
  recoverExpired(): Promise<number>;
}

export interface JournalOptions {
  readonly now: () => Date;
  readonly locks: Locks;
  readonly rollbackEntry: (type: string, id: string, txId: string) => Promise<void>;
  /** How long a transaction may take before others presume it abandoned. */
  readonly leaseMs?: number;
  /** How long a transaction waits for the locks of its resources. */
  readonly lockWaitMs?: number;
}

const DEFAULT_LEASE_MS = 5 * 60_000;
const DEFAULT_LOCK_WAIT_MS = 10_000;

export class TransactionJournal implements Journal {
  private readonly collection: Collection<JournalDoc>;
  private readonly leaseMs: number;
  private readonly lockWaitMs: number;

  constructor(
    db: Db,
    private readonly options: JournalOptions,
  ) {
    this.collection = db.collection<JournalDoc>('journal');
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  }

  async initialise(): Promise<void> {
    await ensureIndexes(this.collection, [{ key: { leaseUntil: 1 }, name: 'lease' }]);
  }

  /**
   * Runs `apply` as one all-or-nothing unit over `targets` (every resource it may write), holding
   * the locks of `locked` (those that exist already; new ids need none).
   */
  async run<T>(scope: { targets: Target[]; locked: readonly Target[] }, apply: (txId: string) => Promise<T>): Promise<T> {
    const { targets } = scope;
    const lease = await this.lock(scope.locked);
    try {
      const now = this.options.now();
      const journal: JournalDoc = {
        _id: newId(),
        state: 'applying',
        startedAt: now,
        leaseUntil: new Date(now.getTime() + this.leaseMs),
        targets,
      };
      await this.collection.insertOne(journal);
      let result: T;
      try {
        result = await apply(journal._id);
      } catch (err) {
        try {
          await this.rollback(journal);
        } catch (rollbackError) {
          // The journal stays: when its lease expires, recovery finishes the rollback.
          throw new AggregateError([err, rollbackError], 'transaction failed and its rollback did not finish');
        }
        throw err;
      }
      await this.collection.deleteOne({ _id: journal._id });
      return result;
    } finally {
      await lease.release();
    }
  }

  /**
   * A writer met a resource tagged by a transaction: it may go on once that transaction is
   * settled. An abandoned one is rolled back first; one still in progress answers 409.
   */
  async assertSettled(txId: string, what: string): Promise<void> {
    const open = await this.collection.findOne({ _id: txId });
    if (!open) {
      return;
    }
    if (open.leaseUntil.getTime() <= this.options.now().getTime()) {
      // The caller holds one of the transaction's locks, so the rollback cannot run here.
      void this.recoverExpired().catch(() => undefined);
    }
    throw new FhirError('TRANSACTION_CONFLICT', `${what} is being written by a transaction in progress; try again`);
  }

  async recoverExpired(): Promise<number> {
    const expired = await this.collection.find({ leaseUntil: { $lte: this.options.now() } }).toArray();
    for (const journal of expired) {
      const lease = await this.lock(journal.targets);
      try {
        // Another process may have finished it while we waited for the locks.
        if (await this.collection.findOne({ _id: journal._id })) {
          await this.rollback(journal);
        }
      } finally {
        await lease.release();
      }
    }
    return expired.length;
  }

  private lock(targets: readonly { type: string; id: string }[]) {
    return this.options.locks.acquire(
      targets.map((t) => resourceLockName(t.type, t.id)),
      { ttlMs: this.leaseMs, waitMs: this.lockWaitMs },
    );
  }

  private async rollback(journal: JournalDoc): Promise<void> {
    await this.collection.updateOne({ _id: journal._id }, { $set: { state: 'rolling-back' } });
    for (const target of [...journal.targets].reverse()) {
      await this.options.rollbackEntry(target.type, target.id, journal._id);
    }
    await this.collection.deleteOne({ _id: journal._id });
  }
}
