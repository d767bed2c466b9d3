/** What the referral exchange's calls to a partner answer, shared by sending, following and receiving. */
import type { RequestContext } from '../../core/context';
import type { FhirServices } from '../../core/services';
import type { Partner } from '../../store/records';
import type { OutboundResponse } from '../outbound';

/** The partner answered, but not with what was asked: retried like a failed call, 4xx abandoned at once. */
export class RemoteRefusal extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** The partner's HTTP status; 0 when it did not answer. */
    readonly status = 0,
  ) {
    super(message);
  }
}

/** What an attempt of outbox work came to: done, or to be tried again at `again`. */
export type Outcome = { readonly done: true; readonly payload?: Record<string, unknown> } | { readonly done: false; readonly again: Date; readonly payload?: Record<string, unknown> };

/** Whom a call is made for, and how it is audited. */
export interface Transfer {
  readonly ctx: RequestContext;
  readonly services: FhirServices;
  readonly type: 'export' | 'import';
  readonly patients?: string[];
  readonly entities?: { reference: string }[];
}

/** A call to the partner, audited; the JSON answer when it is 2xx, RemoteRefusal otherwise. */
export type PartnerCall = (
  partner: Partner,
  transfer: Transfer,
  request: { method: 'GET' | 'POST' | 'PUT'; path: string; body?: unknown; headers?: Record<string, string> },
) => Promise<{ response: OutboundResponse; body: unknown }>;
