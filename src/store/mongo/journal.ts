/**
 * All-or-nothing transaction Bundles without multi-document transactions (FerretDB has none).
 * docs/storage.md#transactions has the argument; in short:
 *
 * - A transaction takes the locks of the resources it updates, records a journal document
 *   (`applying`), then writes each new version tagged with its id (`tx`). Marking the journal
 *   `committed` — one single-document update — is the commit point.
 * - Readers decide what a tagged version means from the journals as they stood *before* their
 *   own read began (a ReadView): a version tagged by a transaction that had not committed by then
 *   is shown as the version before it (or as absent, for a create). So a reader sees all of a
 *   transaction or none of it, whatever it meets half-written, and a crash at any point leaves
 *   nothing partial visible: the dead transaction's journal simply never commits.
 * - Recovery undoes what a dead transaction wrote and frees its locks. It runs at start-up
 *   (before the service reports ready) for transactions of dead processes of this host, and in
 *   a background sweep for those whose lease ran out (a process elsewhere died: while alive, a
 *   process renews the lease of its transactions every few seconds).
 * - Committed journals are kept a while (RETAIN_COMMITTED_MS), so that a reader can tell "began
 *   after my read started" (still listed) from "committed long ago" (gone), and then removed.
 */
import type { Collection, Db } from 'mongodb';
import { FhirError } from '../../fhir/outcomes';
import { newId } from '../../platform/ids';
import { ensureIndexes } from './indexes';
import { type Lease, type Locks, currentHolder, isAlive, resourceLockName } from './locks';

type Target = { type: string; id: string };
type State = 'applying' | 'committed' | 'rolling-back';

/** Small on purpose: every ReadView reads all of them. The targets are in `journal_targets`. */
interface JournalDoc {
  _id: string;
  state: State;
  startedAt: Date;
  /** Renewed while the owning process is alive; past it the transaction is presumed abandoned. */
  leaseUntil: Date;
  committedAt?: Date;
  /** The process running it: recovery at start-up takes over those of dead processes of this host. */
  host: string;
  pid: number;
  instance: string;
  /** The owner of its resource locks (locks.ts), freed by whoever rolls it back. */
  lockOwner: string;
}

interface TargetsDoc {
  _id: string;
  targets: Target[];
}

export interface Journal {
  /** Rolls back every transaction that was abandoned (dead process or expired lease). Returns how many. */
  recoverAbandoned(): Promise<number>;
}

export interface JournalOptions {
  readonly now: () => Date;
  readonly locks: Locks;
  readonly rollbackEntry: (type: string, id: string, txId: string) => Promise<void>;
  /** How long a transaction's lease runs without renewal (default 30 s; renewed every third of it). */
  readonly leaseMs?: number;
  /** How long a transaction waits for the locks of its resources. */
  readonly lockWaitMs?: number;
}

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_LOCK_WAIT_MS = 10_000;
/** Longer than any read takes; shorter than would let committed journals pile up. */
const RETAIN_COMMITTED_MS = 5 * 60_000;

/**
 * What a reader may show of tagged versions, fixed when its read begins: `committed` transactions
 * show, `open` ones (and ones begun later) show the version before.
 */
export class ReadView {
  constructor(
    private readonly states: ReadonlyMap<string, State>,
    private readonly stillListed: (txIds: readonly string[]) => Promise<Set<string>>,
    private readonly listedNow: () => Promise<string[]>,
  ) {}

  /** Transactions whose versions this view hides: open when it began, or begun since (and still listed). */
  async hidden(): Promise<string[]> {
    const open = [...this.states].flatMap(([tx, state]) => (state === 'committed' ? [] : [tx]));
    const later = (await this.listedNow()).filter((tx) => !this.states.has(tx));
    return [...open, ...later];
  }

  /**
   * For each tag, whether its version is visible to this reader. A tag not listed when the view
   * began belongs to a transaction that committed long ago (and was forgotten), or to one that
   * began after: the latter is still listed now.
   */
  async visible(txIds: readonly string[]): Promise<Map<string, boolean>> {
    const answer = new Map<string, boolean>();
    const unknown: string[] = [];
    for (const tx of new Set(txIds)) {
      const state = this.states.get(tx);
      if (state === undefined) unknown.push(tx);
      else answer.set(tx, state === 'committed');
    }
    if (unknown.length > 0) {
      const later = await this.stillListed(unknown);
      for (const tx of unknown) answer.set(tx, !later.has(tx));
    }
    return answer;
  }
}

export class TransactionJournal implements Journal {
  private readonly collection: Collection<JournalDoc>;
  private readonly targetsCollection: Collection<TargetsDoc>;
  private readonly leaseMs: number;
  private readonly lockWaitMs: number;
  /** Transactions this process is applying, whose leases (and locks) it renews. */
  private readonly running = new Map<string, Lease>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** Transactions of this process whose rollback failed: abandoned at once. */
  private readonly orphaned = new Set<string>();

  constructor(
    db: Db,
    private readonly options: JournalOptions,
  ) {
    this.collection = db.collection<JournalDoc>('journal');
    this.targetsCollection = db.collection<TargetsDoc>('journal_targets');
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  }

  async initialise(): Promise<void> {
    await ensureIndexes(this.collection, [{ key: { leaseUntil: 1 }, name: 'lease' }]);
  }

  /** The journals as they stand now: take it before reading documents (ReadView). */
  async readView(): Promise<ReadView> {
    const docs = await this.collection.find({}, { projection: { _id: 1, state: 1 } }).toArray();
    return new ReadView(
      new Map(docs.map((d) => [d._id, d.state])),
      async (txIds) => {
        const listed = await Promise.all(txIds.map((tx) => this.collection.findOne({ _id: tx }, { projection: { _id: 1 } })));
        return new Set(listed.flatMap((d) => (d ? [d._id] : [])));
      },
      async () => (await this.collection.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id),
    );
  }

  /**
   * Runs `apply` as one all-or-nothing unit over `targets` (every resource it may write), holding
   * the locks of `locked` (those that exist already; new ids need none).
   */
  async run<T>(scope: { targets: Target[]; locked: readonly Target[] }, apply: (txId: string) => Promise<T>): Promise<T> {
    const lease = await this.lock(scope.locked);
    const txId = newId();
    try {
      const now = this.options.now();
      const holder = currentHolder();
      // Targets first: a journal is never without them, so recovery always knows what to undo.
      await this.targetsCollection.insertOne({ _id: txId, targets: scope.targets });
      const journal: JournalDoc = {
        _id: txId,
        state: 'applying',
        startedAt: now,
        leaseUntil: new Date(now.getTime() + this.leaseMs),
        host: holder.host,
        pid: holder.pid,
        instance: holder.instance,
        lockOwner: lease.owner,
      };
      await this.collection.insertOne(journal);
      this.keepAlive(txId, lease);
      let result: { value: T } | undefined;
      try {
        result = { value: await apply(txId) };
        // The commit point.
        await this.collection.updateOne({ _id: txId }, { $set: { state: 'committed', committedAt: this.options.now() } });
      } catch (err) {
        // The commit may have been written though its answer was lost: then it stands.
        const journal = result ? await this.collection.findOne({ _id: txId }).catch(() => null) : null;
        if (!result || journal?.state !== 'committed') {
          try {
            await this.rollback(txId, scope.targets);
          } catch (rollbackError) {
            // The journal stays open (readers keep ignoring its versions); the next sweep finishes
            // it without waiting for its lease to run out (the database may just have restarted).
            this.orphaned.add(txId);
            throw new AggregateError([err, rollbackError], 'transaction failed and its rollback did not finish');
          }
          throw err;
        }
      }
      await this.targetsCollection.deleteOne({ _id: txId }).catch(() => undefined);
      return result.value;
    } finally {
      this.running.delete(txId);
      await lease.release().catch(() => undefined);
    }
  }

  /**
   * A writer met a resource tagged by a transaction: it may go on once that transaction is
   * committed or gone. An abandoned one is rolled back first; one in progress answers 409.
   */
  async assertSettled(txId: string, what: string): Promise<void> {
    const journal = await this.collection.findOne({ _id: txId });
    if (!journal || journal.state === 'committed') {
      return;
    }
    if (this.isAbandoned(journal)) {
      // The caller holds one of the transaction's locks: recover in the background.
      void this.recoverAbandoned().catch(() => undefined);
    }
    throw new FhirError('TRANSACTION_CONFLICT', `${what} is being written by a transaction in progress; try again`);
  }

  /**
   * Rolls back every open transaction whose process is gone (same host, pid dead or reused) or
   * whose lease has run out, freeing its locks; forgets committed journals past their retention.
   */
  async recoverAbandoned(): Promise<number> {
    const now = this.options.now();
    const open = await this.collection.find({ state: { $ne: 'committed' } }).toArray();
    let recovered = 0;
    for (const journal of open.filter((j) => this.isAbandoned(j))) {
      // One recoverer per transaction: a lock of its own, whose holder may also die.
      const claim = await this.options.locks.tryAcquire(`recovery:${journal._id}`, this.leaseMs);
      if (!claim) continue;
      try {
        const still = await this.collection.findOne({ _id: journal._id });
        if (!still || still.state === 'committed') continue;
        const targets = (await this.targetsCollection.findOne({ _id: journal._id }))?.targets ?? [];
        await this.rollback(journal._id, targets);
        await this.options.locks.releaseOwner(journal.lockOwner);
        this.orphaned.delete(journal._id);
        recovered++;
      } finally {
        await claim.release();
      }
    }
    await this.collection.deleteMany({ state: 'committed', committedAt: { $lt: new Date(now.getTime() - RETAIN_COMMITTED_MS) } });
    return recovered;
  }

  private isAbandoned(journal: JournalDoc): boolean {
    if (this.running.has(journal._id)) return false;
    if (this.orphaned.has(journal._id)) return true;
    if (journal.leaseUntil.getTime() <= this.options.now().getTime()) return true;
    const me = currentHolder();
    return journal.host === me.host && (journal.instance !== me.instance && (journal.pid === me.pid || !isAlive(journal.pid)));
  }

  private lock(targets: readonly { type: string; id: string }[]) {
    return this.options.locks.acquire(
      targets.map((t) => resourceLockName(t.type, t.id)),
      { ttlMs: this.leaseMs, waitMs: this.lockWaitMs },
    );
  }

  /** Renews the lease of a running transaction, and its locks, until it ends. */
  private keepAlive(txId: string, lease: Lease): void {
    this.running.set(txId, lease);
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      if (this.running.size === 0) {
        clearInterval(this.heartbeat);
        this.heartbeat = undefined;
        return;
      }
      const until = new Date(this.options.now().getTime() + this.leaseMs);
      for (const [id, held] of this.running) {
        void this.collection.updateOne({ _id: id, state: 'applying' }, { $set: { leaseUntil: until } }).catch(() => undefined);
        void this.options.locks.renew(held.owner, this.leaseMs).catch(() => undefined);
      }
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    this.heartbeat.unref();
  }

  private async rollback(txId: string, targets: readonly Target[]): Promise<void> {
    const marked = await this.collection.updateOne({ _id: txId, state: { $ne: 'committed' } }, { $set: { state: 'rolling-back' } });
    if (marked.matchedCount === 0 && (await this.collection.findOne({ _id: txId }))?.state === 'committed') {
      return; // committed after all: nothing to undo
    }
    for (const target of [...targets].reverse()) {
      await this.options.rollbackEntry(target.type, target.id, txId);
    }
    // Versions first, journal last: a reader never meets a tag whose journal is gone unless it committed.
    await this.collection.deleteOne({ _id: txId });
    await this.targetsCollection.deleteOne({ _id: txId });
  }
}

