/**
 * The workflows' background work in one process: each round runs every worker once —
 * subscriptions (activate, scan, deliver), referrals (send, follow, import, close the loop), payers'
 * documentation requests, exports — and, now and then, the sweeps (FerretDB has no TTL indexes).
 * Rounds run every WORKFLOW_INTERVAL_MS, and soon when this process writes (at once, or a quarter
 * of a second after the last round when writes keep coming); several instances
 * on one database share the work through leases, so each piece is done once. Tests drive it
 * with runOnce()/settle() and their own clock instead of timers.
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log';
import type { FhirServices } from '../core/services';
import type { Logger } from '../platform/logger';
import type { WorkflowRecords } from '../store/records';
import { readIfPresent } from '../store/repository';
import { WorkflowContext, type WorkflowSettings } from './context';
import { type Fetch, OutboundHttp } from './outbound';
import { SubscriptionWorker } from './subscriptions/subscription-worker';
import { TransferAudit } from './transfer-audit';

/** A worker: one round of its work, answering how many pieces it did. */
export interface Worker {
  readonly name?: string;
  run(): Promise<number>;
  /** Periodic removal of what expired (run with the sweeps). */
  sweep?(): Promise<void>;
}

export interface WorkflowOptions {
  /** The unscoped services. */
  readonly services: FhirServices;
  readonly records: WorkflowRecords;
  readonly auditLog: AuditLog;
  readonly clientActive: (clientId: string) => Promise<boolean>;
  readonly settings: WorkflowSettings & { readonly intervalMs: number; readonly outboundTimeoutMs: number };
  readonly logger: Logger;
  /** When work is due (default: the FHIR services' clock). */
  readonly now?: () => Date;
  /** Outbound HTTP (default: the global fetch); tests put faults in it. */
  readonly fetch?: Fetch;
  /** This instance's name in the leases it holds. */
  readonly instanceId?: string;
}

/**
 * Least time from the end of a round to a round a write asked for. A lone write is still served
 * at once; under steady writes (a Bundle ingest) rounds no longer run back to back, each of them
 * ~16 queries whatever it finds.
 */
const NUDGE_SPACING_MS = 250;
/** How often the sweeps run. */
const SWEEP_EVERY_MS = 10 * 60_000;
/** How long finished outbox entries are kept (late duplicates are recognised meanwhile). */
const OUTBOX_RETENTION_MS = 7 * 24 * 3600_000;

export class Workflows {
  readonly context: WorkflowContext;
  readonly subscriptions: SubscriptionWorker;
  private readonly workers: Worker[];
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<number> | undefined;
  private again = false;
  private stopped = true;
  /** When the last round ended (performance.now()); -Infinity before the first. */
  private lastRoundEnded = Number.NEGATIVE_INFINITY;
  private lastSweep = 0;

  constructor(private readonly options: WorkflowOptions) {
    const now = options.now ?? options.services.now;
    const logger = options.logger.child({ component: 'workflows' });
    this.context = new WorkflowContext({
      services: options.services,
      records: options.records,
      http: new OutboundHttp({ fetch: options.fetch ?? ((input, init) => fetch(input, init)), timeoutMs: options.settings.outboundTimeoutMs }),
      audit: new TransferAudit({ log: options.auditLog, baseUrl: options.services.settings.baseUrl, now: options.services.now, logger }),
      logger,
      now,
      owner: options.instanceId ?? `instance-${randomUUID()}`,
      settings: options.settings,
      clientActive: options.clientActive,
    });
    this.subscriptions = new SubscriptionWorker(this.context);
    this.workers = [{ name: 'subscriptions', run: () => this.subscriptions.run() }];
  }

  /** Adds a worker (the composition registers the referral, documentation and export workers). */
  add(worker: Worker): void {
    this.workers.push(worker);
  }

  /** One round of every worker; a worker that fails is logged and the others still run. */
  async runOnce(): Promise<number> {
    let done = 0;
    for (const worker of this.workers) {
      try {
        done += await worker.run();
      } catch (err) {
        this.context.log.error({ err, worker: worker.name ?? worker.constructor.name }, 'workflow round failed');
      }
    }
    const now = this.context.now().getTime();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) {
      this.lastSweep = now;
      await this.sweep().catch((err: unknown) => this.context.log.error({ err }, 'workflow sweep failed'));
    }
    return done;
  }

  /** Rounds until one does nothing (at most `rounds`): what tests call instead of waiting. */
  async settle(rounds = 20): Promise<number> {
    let total = 0;
    for (let i = 0; i < rounds; i++) {
      const done = await this.runOnce();
      total += done;
      if (done === 0) break;
    }
    return total;
  }

  /** Removes what expired: finished outbox entries, lapsed leases, state of deleted subscriptions. */
  async sweep(): Promise<void> {
    const { records } = this.context;
    const now = this.context.now();
    await records.outbox.sweep(new Date(now.getTime() - OUTBOX_RETENTION_MS));
    for (const worker of this.workers) await worker.sweep?.();
    await records.leases.sweep(now);
    for (const id of await records.subscriptions.ids()) {
      const state = await records.subscriptions.get(id);
      const gone = (await readIfPresent(this.context.services.repo, 'Subscription', id)) === undefined;
      // A day's grace: a subscriber is recorded just before its Subscription is written.
      if (gone && state && now.getTime() - state.updated.getTime() > 24 * 3600_000) await records.subscriptions.remove(id);
    }
  }

  /** Runs rounds every intervalMs, and soon after a nudge. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.options.settings.intervalMs);
  }

  /** Something was written: run a round soon rather than at the next interval. */
  nudge(): void {
    if (this.stopped) return;
    if (this.round) {
      this.again = true;
      return;
    }
    this.schedule(this.spacing());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped || this.round) return;
    this.round = this.runOnce();
    try {
      await this.round;
    } finally {
      this.round = undefined;
      this.lastRoundEnded = performance.now();
    }
    if (this.stopped) return;
    const soon = this.again;
    this.again = false;
    this.schedule(soon ? this.spacing() : this.options.settings.intervalMs);
  }

  /** How long a round a write asked for waits: what is left of NUDGE_SPACING_MS since the last round. */
  private spacing(): number {
    return Math.max(0, Math.ceil(this.lastRoundEnded + NUDGE_SPACING_MS - performance.now()));
  }
}
