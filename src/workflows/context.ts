/**
 * What every background worker shares: the services (unscoped: each worker takes the view of
 * whom it works for, actors.ts), the workflow records, outbound HTTP and its audit, the clock, and
 * this instance's name for the leases it holds.
 */
import type { FhirServices } from '../core/services';
import type { Logger } from '../platform/logger';
import type { Partner, Partners, WorkflowRecords } from '../store/records';
import type { AllowedDestinations } from './destinations';
import type { OutboundHttp } from './outbound';
import { PartnerClient } from './partner-client';
import type { TransferAudit } from './transfer-audit';

export interface WorkflowSettings {
  /** Origins subscription endpoints may be at, besides the partners'. */
  readonly subscriptionEndpointOrigins: readonly string[];
  readonly referralPollSeconds: number;
  readonly bulkExportTtlSeconds: number;
  readonly cdexAutomatic: boolean;
}

/** Where outbound calls may go now: the configured origins and the active partners' servers. */
export async function allowedDestinations(partners: Partners, endpointOrigins: readonly string[]): Promise<AllowedDestinations> {
  const active = (await partners.list()).filter((p) => p.active);
  return { endpointOrigins, partnerBases: active.map((p) => p.baseUrl) };
}

export class WorkflowContext {
  private readonly partnerClients = new Map<string, PartnerClient>();

  constructor(
    readonly deps: {
      readonly services: FhirServices;
      readonly records: WorkflowRecords;
      readonly http: OutboundHttp;
      readonly audit: TransferAudit;
      readonly logger: Logger;
      /** The workflows' clock: when work is due. */
      readonly now: () => Date;
      /** This instance, as the holder of the leases it takes. */
      readonly owner: string;
      readonly settings: WorkflowSettings;
      /** Whether a registered client is still active (a disabled subscriber gets nothing). */
      readonly clientActive: (clientId: string) => Promise<boolean>;
    },
  ) {}

  get services(): FhirServices {
    return this.deps.services;
  }

  get records(): WorkflowRecords {
    return this.deps.records;
  }

  get log(): Logger {
    return this.deps.logger;
  }

  now(): Date {
    return this.deps.now();
  }

  /** Runs `work` while holding the lease `name` (for at most `ttlMs`); undefined when another instance holds it. */
  async leased<T>(name: string, ttlMs: number, work: () => Promise<T>): Promise<T | undefined> {
    const { leases } = this.deps.records;
    if (!(await leases.acquire(name, this.deps.owner, { now: this.now(), ttlMs }))) return undefined;
    try {
      return await work();
    } finally {
      await leases.release(name, this.deps.owner);
    }
  }

  destinations(): Promise<AllowedDestinations> {
    return allowedDestinations(this.deps.records.partners, this.deps.settings.subscriptionEndpointOrigins);
  }

  /** The client of a partner's server (its token reused across calls). */
  partnerClient(partner: Partner): PartnerClient {
    let client = this.partnerClients.get(partner.id);
    if (!client || client.partner.baseUrl !== partner.baseUrl) {
      client = new PartnerClient(partner, this.deps.http, () => new Date());
      this.partnerClients.set(partner.id, client);
    }
    return client;
  }
}
