/**
 * All-or-nothing transaction Bundles without multi-document transactions (FerretDB has none).
 * docs/storage.md#transactions has the argument; in short:
 *
 * - A transaction takes the locks of the resources it updates, records a journal document
 *   (`applying`), then writes each new version tagged with its id (`tx`). It then takes a number
 *   from the commit clock (commit-clock.ts) and marks its journal `committed` with that number:
 *   that single-document update is the commit point.
 * - A reader first reads the clock (a ReadView). A version tagged by a transaction is shown when
 *   that transaction committed with a number no higher than the view's (all its writes were made
 *   before the reader read anything), or when its journal is gone (committed long ago); otherwise
 *   the version before it is shown (or nothing, for a create). A view decides once per
 *   transaction, so a reader sees all of a transaction or none of it, whatever it meets
 *   half-written, and a crash at any point leaves nothing partial visible: the dead
 *   transaction's journal never commits.
 * - Recovery undoes what a dead transaction wrote and frees its locks. It runs at start-up
 *   (before the service reports ready) for transactions of dead processes of this host, and in
 *   a background sweep for those whose lease ran out (a process elsewhere died: while alive, a
 *   process renews the lease of its transactions every few seconds). A rolled-back journal stays
 *   as `rolled-back`, so that a reader who met a version before it was restored still hides it.
 * - Ended journals (committed, rolled back) are kept a while (RETAIN_ENDED_MS), longer than any
 *   reader takes, so that "gone" means "committed long ago"; then they are forgotten.
 */
import type { Collection, Db } from 'mongodb';
import { FhirError } from '../../fhir/outcomes';
import { newId } from '../../platform/ids';
import { CommitClock } from './commit-clock';
import { ensureIndexes } from './indexes';
import { type Lease, type Locks, currentHolder, isAlive, resourceLockName } from './locks';

type Target = { type: string; id: string };
type State = 'applying' | 'committed' | 'rolling-back' | 'rolled-back';
const OPEN: State[] = ['applying', 'rolling-back'];

/** Small: readers look journals up by id. The targets are in `journal_targets`. */
interface JournalDoc {
  _id: string;
  state: State;
  startedAt: Date;
  /**
   * Its lease as first taken; its process renews it in its lock owner's lease (locks.ts), never
   * here: on FerretDB a renewal writes the whole journal back and could undo its commit. Past
   * both, the transaction is presumed abandoned.
   */
  leaseUntil: Date;
  committedAt?: Date;
  /** Its number on the commit clock, taken after its writes (absent on journals of older versions). */
  commitSeq?: number;
  /** When it was committed or rolled back: forgotten RETAIN_ENDED_MS later. */
  endedAt?: Date;
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
/** Longer than any read takes; shorter than would let ended journals pile up. */
const RETAIN_ENDED_MS = 5 * 60_000;

type Lookup = (txIds: readonly string[]) => Promise<Pick<JournalDoc, '_id' | 'state' | 'commitSeq'>[]>;

/**
 * Whether a version a transaction wrote is shown: when the transaction committed before the
 * view was taken (`asOf`, the commit clock then), or so long ago that its journal is gone.
 */
function shownTo(asOf: number | undefined, journal: Pick<JournalDoc, 'state' | 'commitSeq'> | undefined): boolean {
  if (!journal) return true;
  if (journal.state !== 'committed') return false;
  // A journal committed by an older version has no number: it committed before this one ran.
  return asOf === undefined || journal.commitSeq === undefined || journal.commitSeq <= asOf;
}

/**
 * What a reader may show of tagged versions, fixed when its read begins: transactions committed
 * before it show, the others (open then, or begun or committed since) show the version before.
 * Each transaction is decided once, so every version it wrote is shown alike.
 */
export class ReadView {
  private readonly decided = new Map<string, boolean>();

  constructor(
    /** The commit clock when the view was taken; undefined: whatever has committed by the time it looks. */
    private readonly asOf: number | undefined,
    private readonly lookup: Lookup,
    /** Journals that may hide versions from this view: open, rolled back, or committed after it. */
    private readonly notShownNow: (asOf: number | undefined) => Promise<string[]>,
  ) {}

  /** Transactions whose versions this view hides, as listed now (counts leave their documents out). */
  async hidden(): Promise<string[]> {
    const now = await this.notShownNow(this.asOf);
    for (const tx of now) if (!this.decided.has(tx)) this.decided.set(tx, false);
    const hidden = [...this.decided].flatMap(([tx, shown]) => (shown ? [] : [tx]));
    return [...new Set(hidden)];
  }

  /** For each tag, whether its version is visible to this reader. */
  async visible(txIds: readonly string[]): Promise<Map<string, boolean>> {
    const unknown = [...new Set(txIds)].filter((tx) => !this.decided.has(tx));
    if (unknown.length > 0) {
      const journals = new Map((await this.lookup(unknown)).map((j) => [j._id, j]));
      for (const tx of unknown) this.decided.set(tx, shownTo(this.asOf, journals.get(tx)));
    }
    return new Map(txIds.map((tx) => [tx, this.decided.get(tx) === true]));
  }
}

const GONE = 'gone';

/**
 * What this process has learnt of transactions whose outcome can no longer change: committed
 * (with its number) or gone (its journal forgotten after the retention; a tagged version exists
 * only once its journal does, so a missing journal is never one still to come). Without it, every
 * read of a document a transaction ever wrote looked its journal up again, for as long as the
 * document kept its tag. Open or rolled-back journals are not kept: they still change, or their
 * versions are being restored. Bounded; the oldest entries go first.
 */
class SettledJournals {
  private readonly entries = new Map<string, Pick<JournalDoc, 'state' | 'commitSeq'> | typeof GONE>();

  constructor(private readonly max = 50_000) {}

  get(txId: string): Pick<JournalDoc, 'state' | 'commitSeq'> | typeof GONE | undefined {
    return this.entries.get(txId);
  }

  remember(txId: string, journal: Pick<JournalDoc, 'state' | 'commitSeq'> | undefined): void {
    if (journal && journal.state !== 'committed') return;
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(txId, journal ? { state: 'committed', ...(journal.commitSeq !== undefined ? { commitSeq: journal.commitSeq } : {}) } : GONE);
  }
}

export class TransactionJournal implements Journal {
  private readonly settled = new SettledJournals();
  private readonly collection: Collection<JournalDoc>;
  private readonly targetsCollection: Collection<TargetsDoc>;
  private readonly clock: CommitClock;
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
    this.clock = new CommitClock(db, options.now);
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  }

  async initialise(): Promise<void> {
    await ensureIndexes(this.collection, [{ key: { leaseUntil: 1 }, name: 'lease' }]);
  }

  /** A reader's view: take it before reading documents (ReadView). One indexed read. */
  async readView(): Promise<ReadView> {
    return this.view(await this.clock.latest());
  }

  /**
   * A view with no fixed instant, for readers that need no consistency across documents (a read
   * of one document, lists of ids): a committed transaction's version (or one whose journal is
   * gone) is shown, any other is not. Reads no clock.
   */
  currentView(): ReadView {
    return this.view(undefined);
  }

  private view(asOf: number | undefined): ReadView {
    return new ReadView(
      asOf,
      (txIds) => this.journals(txIds),
      async (at) =>
        (await this.collection.find(at === undefined ? { state: { $ne: 'committed' } } : { $or: [{ state: { $ne: 'committed' } }, { commitSeq: { $gt: at } }] }, { projection: { _id: 1 } }).toArray()).map((d) => d._id),
    );
  }

  /** The journals of `txIds` that exist (a missing one is gone), from what is settled already or the database. */
  private async journals(txIds: readonly string[]): Promise<Pick<JournalDoc, '_id' | 'state' | 'commitSeq'>[]> {
    const known: Pick<JournalDoc, '_id' | 'state' | 'commitSeq'>[] = [];
    const ids: string[] = [];
    for (const id of new Set(txIds)) {
      const settled = this.settled.get(id);
      if (settled === undefined) ids.push(id);
      else if (settled !== GONE) known.push({ _id: id, ...settled });
    }
    if (ids.length === 0) return known;
    const found = await this.collection.find(ids.length === 1 ? { _id: ids[0] as string } : { _id: { $in: ids } }, { projection: { _id: 1, state: 1, commitSeq: 1 } }).toArray();
    const byId = new Map(found.map((j) => [j._id, j]));
    for (const id of ids) this.settled.remember(id, byId.get(id));
    return [...known, ...found];
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
        // After every write: a view that reads a number at least this one began after them.
        const commitSeq = await this.clock.take();
        // The commit point.
        const at = this.options.now();
        await this.collection.updateOne({ _id: txId }, { $set: { state: 'committed', committedAt: at, endedAt: at, commitSeq } });
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
    if (this.settled.get(txId) !== undefined) return;
    const journal = await this.collection.findOne({ _id: txId });
    this.settled.remember(txId, journal ?? undefined);
    if (!journal || journal.state === 'committed') {
      return;
    }
    if (await this.isAbandoned(journal)) {
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
    const open = await this.collection.find({ state: { $in: OPEN } }).toArray();
    let recovered = 0;
    for (const journal of open) {
      if (!(await this.isAbandoned(journal))) continue;
      // One recoverer per transaction: a lock of its own, whose holder may also die.
      const claim = await this.options.locks.tryAcquire(`recovery:${journal._id}`, this.leaseMs);
      if (!claim) continue;
      try {
        const still = await this.collection.findOne({ _id: journal._id });
        if (!still || !OPEN.includes(still.state)) continue;
        const targets = (await this.targetsCollection.findOne({ _id: journal._id }))?.targets ?? [];
        await this.rollback(journal._id, targets);
        await this.options.locks.releaseOwner(journal.lockOwner);
        this.orphaned.delete(journal._id);
        recovered++;
      } finally {
        await claim.release();
      }
    }
    const forgotten = new Date(now.getTime() - RETAIN_ENDED_MS);
    // Journals of older versions have only committedAt.
    await this.collection.deleteMany({ state: { $in: ['committed', 'rolled-back'] }, $or: [{ endedAt: { $lt: forgotten } }, { endedAt: { $exists: false }, committedAt: { $lt: forgotten } }] });
    await this.clock.forget(forgotten);
    await this.options.locks.forgetLapsedLeases(forgotten);
    return recovered;
  }

  private async isAbandoned(journal: JournalDoc): Promise<boolean> {
    if (this.running.has(journal._id)) return false;
    if (this.orphaned.has(journal._id)) return true;
    const me = currentHolder();
    if (journal.host === me.host && journal.instance !== me.instance && (journal.pid === me.pid || !isAlive(journal.pid))) return true;
    const now = this.options.now().getTime();
    if (journal.leaseUntil.getTime() > now) return false;
    return ((await this.options.locks.renewedUntil(journal.lockOwner))?.getTime() ?? 0) <= now;
  }

  private lock(targets: readonly { type: string; id: string }[]) {
    return this.options.locks.acquire(
      targets.map((t) => resourceLockName(t.type, t.id)),
      { ttlMs: this.leaseMs, waitMs: this.lockWaitMs },
    );
  }

  /** Renews the lease of a running transaction and its locks (one lease document, locks.ts) until it ends. */
  private keepAlive(txId: string, lease: Lease): void {
    this.running.set(txId, lease);
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      if (this.running.size === 0) {
        clearInterval(this.heartbeat);
        this.heartbeat = undefined;
        return;
      }
      for (const held of this.running.values()) {
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
    // Versions first, then the journal ends as `rolled-back` (kept like a committed one): a reader
    // that read a version before it was restored and looks its journal up now still hides it.
    await this.collection.updateOne({ _id: txId }, { $set: { state: 'rolled-back', endedAt: this.options.now() } });
    await this.targetsCollection.deleteOne({ _id: txId });
  }
}

