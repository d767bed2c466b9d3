/**
 * The order of transaction commits, shared by every process on the database: a commit takes a
 * number after its writes and before its commit point; a reader's view reads the highest number
 * taken before it reads any document (journal.ts ReadView). A commit whose number is at most the
 * view's was made before the view began.
 *
 * FerretDB 1.x has no atomic read-modify-write (its filtered updates read, then write by `_id`),
 * so the counter is a collection of inserted numbers: inserting a unique `_id` is the one atomic
 * conditional write both databases share, and the highest `_id` is one indexed read (a sort on
 * `_id`, which our FerretDB patch answers from its `_id` index). Numbers are zero-padded strings
 * so that the order of `_id` is the order of the numbers.
 */
import type { Collection, Db } from 'mongodb';
import { MongoServerError } from 'mongodb';

interface TickDoc {
  _id: string;
  /** When it was taken: numbers older than the journals' retention are forgotten. */
  at: Date;
}

const DUPLICATE_KEY = 11000;
const DIGITS = 15;
/**
 * A process re-reads the highest number at least this often before taking one: numbers are
 * forgotten only once older than the journals' retention (minutes), so a process never takes a
 * forgotten number again.
 */
const REFRESH_MS = 30_000;
/** Takers racing for the same number retry; past this many, something else is wrong. */
const MAX_ATTEMPTS = 100;

export class CommitClock {
  private readonly collection: Collection<TickDoc>;
  /** The highest number this process knows to be taken, and when it last read the highest. */
  private known = 0;
  private knownAt = Number.NEGATIVE_INFINITY;
  /** Numbers this process takes are taken one at a time: concurrent commits would only collide. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    db: Db,
    private readonly now: () => Date,
  ) {
    this.collection = db.collection<TickDoc>('journal_clock');
  }

  /** The highest number taken so far (0 when none). */
  async latest(): Promise<number> {
    const [top] = await this.collection.find({}, { projection: { _id: 1 } }).sort({ _id: -1 }).limit(1).toArray();
    return top ? Number(top._id) : 0;
  }

  /** A number above every number taken before this call began. */
  take(): Promise<number> {
    const next = this.turn.then(() => this.insertNext());
    this.turn = next.catch(() => undefined);
    return next;
  }

  /** Forgets numbers taken before `before`, except the highest (the next is taken above it). */
  async forget(before: Date): Promise<void> {
    const highest = await this.latest();
    if (highest === 0) return;
    await this.collection.deleteMany({ at: { $lt: before }, _id: { $lt: key(highest) } });
  }

  private async insertNext(): Promise<number> {
    const now = this.now().getTime();
    if (now - this.knownAt > REFRESH_MS) await this.refresh(now);
    for (let attempt = 1; ; attempt++) {
      const n = this.known + 1;
      try {
        await this.collection.insertOne({ _id: key(n), at: new Date(now) });
        this.known = n;
        return n;
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY) || attempt >= MAX_ATTEMPTS) throw err;
        // Another process took it: start again above the highest.
        await this.refresh(now);
        this.known = Math.max(this.known, n);
      }
    }
  }

  private async refresh(now: number): Promise<void> {
    this.known = Math.max(this.known, await this.latest());
    this.knownAt = now;
  }
}

function key(n: number): string {
  return String(n).padStart(DIGITS, '0');
}
