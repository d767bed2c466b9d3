/**
 * Subscriptions, in three steps that any instance may run (each piece of work under a lease):
 *
 *  activate  a `requested` Subscription becomes `active` (or `error`, saying why) once its
 *            subscriber, criteria and endpoint check out again;
 *  scan      the changes since its checkpoint that match its criteria, searched as its
 *            subscriber may see them, become notifications in the outbox — one per resource
 *            version, recorded once whoever scans, numbered in order;
 *  deliver   each notification is sent to the endpoint; a failure is retried with backoff
 *            (later notifications wait behind it, in order), and after ERROR_AFTER failures in a
 *            row the Subscription is `error` until a delivery goes through again.
 *
 * The data is the log: a write is seen by the scan because it is in the store, so nothing is added
 * to the write path — a failing endpoint never slows or blocks a write — and nothing is lost if an
 * instance stops between a write and its notification. Scans look back a margin before their
 * checkpoint, for writes that took their timestamp before the last scan but landed after it;
 * the outbox's ids make the overlap harmless. A resource changed twice between two scans is
 * notified once, in its latest version (R4 notifications say "this changed, look").
 */
import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { FhirServices } from '../../core/services';
import { withoutServerMeta } from '../../fhir/resource-body';
import { FHIR_JSON } from '../../fhir/media-types';
import { FhirError } from '../../fhir/outcomes';
import { compartmentPatients } from '../../search/compartment';
import { parseSearch } from '../../search/parse';
import type { OutboxEntry } from '../../store/records';
import { type CurrentResource, readIfPresent } from '../../store/repository';
import { recordedCaller, servicesAs, workContext } from '../actors';
import { MAX_ATTEMPTS, retryDelayMs } from '../backoff';
import type { WorkflowContext } from '../context';
import { endpointRefusal } from '../destinations';
import { findAll } from '../find';
import { type OutboundRequest, callPeer } from '../outbound';
import { notificationBundle } from './notification';
import { type SubscriptionPlan, readSubscription } from './subscription-request';

/** How far before its checkpoint a scan looks again. */
export const SCAN_MARGIN_MS = 60_000;
/** Failed deliveries in a row after which the Subscription's status is `error`. */
export const ERROR_AFTER = 3;
const LEASE_MS = 60_000;
const BATCH = 50;

type Status = Subscription['status'];

export class SubscriptionWorker {
  constructor(private readonly w: WorkflowContext) {}

  /** One round of every step; answers how many pieces of work it did. */
  async run(): Promise<number> {
    return (await this.activate()) + (await this.scan()) + (await this.deliver());
  }

  async activate(): Promise<number> {
    let done = 0;
    for (const found of await findAll(this.w.services, 'Subscription', { status: 'requested' }, BATCH)) {
      const id = found.id;
      done += (await this.w.leased(`subscription:${id}`, LEASE_MS, async () => {
        const current = await readIfPresent(this.w.services.repo, 'Subscription', id);
        if (!current || (current.resource as Subscription).status !== 'requested') return 0;
        const state = await this.w.records.subscriptions.get(id);
        const problem = state === undefined
          ? 'CaseBridge does not know who subscribed: write the Subscription again to activate it'
          : !(await this.w.deps.clientActive(state.subscriber.clientId))
            ? 'the subscriber’s registration is disabled'
            : await this.planProblem(current.resource as Subscription);
        if (problem === undefined) await this.w.records.subscriptions.activate(id, current.lastUpdated, this.w.now());
        await this.setStatus(current, problem === undefined ? 'active' : 'error', problem);
        return 1;
      })) ?? 0;
    }
    return done;
  }

  async scan(): Promise<number> {
    let done = 0;
    for (const found of await findAll(this.w.services, 'Subscription', { status: 'active,error' }, 1000)) {
      done += (await this.w.leased(`subscription-scan:${found.id}`, LEASE_MS, () => this.scanOne(found.id))) ?? 0;
    }
    return done;
  }

  async deliver(): Promise<number> {
    let done = 0;
    for (const entry of await this.w.records.outbox.due(['notification'], this.w.now(), BATCH)) {
      done += (await this.w.leased(`outbox:${entry.id}`, LEASE_MS, () => this.deliverOne(entry.id))) ?? 0;
    }
    return done;
  }

  /** The changes of one subscription since its checkpoint, as notifications; answers how many. */
  private async scanOne(id: string): Promise<number> {
    const current = await readIfPresent(this.w.services.repo, 'Subscription', id);
    const subscription = current?.resource as Subscription | undefined;
    const state = await this.w.records.subscriptions.get(id);
    if (!current || !subscription || (subscription.status !== 'active' && subscription.status !== 'error') || !state) return 0;
    if (!(await this.w.deps.clientActive(state.subscriber.clientId))) {
      await this.setStatus(current, 'off', 'the subscriber’s registration is disabled');
      return 0;
    }
    if (subscription.end !== undefined && Date.parse(subscription.end) <= this.w.services.now().getTime()) {
      await this.setStatus(current, 'off', 'the subscription reached its end');
      return 0;
    }
    const plan = readSubscription(subscription);
    const ctx = workContext(recordedCaller(state.subscriber, `subscription:${id}`), this.w.log, 'subscription');
    const scoped = await servicesAs(this.w.services, ctx);
    if (!scoped.access.allows(ctx.caller, { interaction: 'search-type', resourceType: plan.resourceType })) {
      await this.setStatus(current, 'error', `the subscriber may no longer search ${plan.resourceType}`);
      return 0;
    }
    // The FHIR store's clock: the one resources' lastUpdated come from.
    const started = this.w.services.now();
    // Back a margin from the checkpoint, but never before the subscription began.
    const start = (state.start ?? current.lastUpdated).getTime();
    const from = new Date(Math.max(start, (state.checkpoint ?? current.lastUpdated).getTime() - SCAN_MARGIN_MS));
    const query = { ...plan.query, _lastUpdated: [...(plan.query._lastUpdated ?? []), `ge${from.toISOString()}`], _sort: ['_lastUpdated'], _count: ['200'] };
    const search = parseSearch(plan.resourceType, query, scoped.registry, { strict: true, defaultCount: 200, maxCount: 200, baseUrl: scoped.settings.baseUrl });
    let added = 0;
    let cursor: string | undefined;
    do {
      const page = await scoped.repo.search(search, cursor ? { cursor } : {});
      for (const match of page.matches) added += await this.notify(id, match);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    // Matching is not disclosure: what is sent is recorded when it is sent.
    scoped.disclosures?.take();
    await this.w.records.subscriptions.setCheckpoint(id, started, this.w.now());
    return added;
  }

  /** Records the notification of one resource version (once); answers 1 when it is new. */
  private async notify(subscriptionId: string, match: CurrentResource): Promise<number> {
    const focus = `${match.resourceType}/${match.id}`;
    const id = `notify:${subscriptionId}:${focus}/_history/${match.versionId}`;
    if (await this.w.records.outbox.get(id)) return 0;
    const number = await this.w.records.subscriptions.addEvents(subscriptionId, 1, this.w.now());
    const payload = { subscription: subscriptionId, focus, version: match.versionId, number, at: match.lastUpdated.toISOString() };
    return (await this.w.records.outbox.enqueue({ id, kind: 'notification', target: subscriptionId, order: number, payload, due: this.w.now() }, this.w.now())) === 'enqueued' ? 1 : 0;
  }

  private async deliverOne(entryId: string): Promise<number> {
    const { outbox, subscriptions } = this.w.records;
    const now = this.w.now();
    const entry = await outbox.get(entryId);
    if (!entry || entry.state !== 'pending' || entry.due.getTime() > now.getTime()) return 0;
    const subscriptionId = entry.target;
    const current = await readIfPresent(this.w.services.repo, 'Subscription', subscriptionId);
    const subscription = current?.resource as Subscription | undefined;
    const state = await subscriptions.get(subscriptionId);
    if (!current || !subscription || !state || subscription.status === 'off' || subscription.status === 'requested') {
      // No longer wanted: nothing is sent.
      await outbox.complete(entryId, now);
      return 1;
    }
    const plan = readSubscription(subscription);
    const ctx = workContext(recordedCaller(state.subscriber, `subscription:${subscriptionId}`), this.w.log, 'notification');
    const scoped = await servicesAs(this.w.services, ctx);
    const focus = String(entry.payload.focus);
    const [type, id] = focus.split('/') as [string, string];
    const needsResource = plan.content === 'full-resource';
    // The resource as the subscriber may see it now (labels, consent): nothing is sent of what it may not.
    const resource = needsResource ? (await readIfPresent(scoped.repo, type, id))?.resource : undefined;
    if (needsResource && resource === undefined) {
      await outbox.complete(entryId, now);
      return 1;
    }
    const refusal = endpointRefusal(plan.endpoint, await this.w.destinations());
    const request = this.request(plan, { subscriptionId, subscription, entry, focus, ...(resource ? { resource } : {}) });
    const { response, failure } = refusal === undefined ? await callPeer(() => this.w.deps.http.send(request)) : { response: undefined, failure: refusal };
    await this.w.deps.audit.record(
      {
        type: 'export',
        remote: request.url,
        caller: ctx.caller,
        requestId: ctx.requestId,
        query: `${request.method} ${request.url}`,
        patients: resource ? patientsOf(this.w.services, resource) : [],
        entities: [{ reference: focus, versionId: String(entry.payload.version) }, { reference: `Subscription/${subscriptionId}` }],
        ...(failure !== undefined ? { failure: { status: response?.status ?? 0, description: failure } } : {}),
      },
      scoped,
    );
    if (failure === undefined) {
      await outbox.complete(entryId, now);
      await subscriptions.succeeded(subscriptionId, now);
      if (subscription.status === 'error') await this.setStatus(current, 'active', undefined);
      return 1;
    }
    const failures = await subscriptions.failed(subscriptionId, failure, now);
    const attempts = entry.attempts + 1;
    if (attempts >= MAX_ATTEMPTS) {
      await outbox.abandon(entryId, now, failure);
    } else {
      const due = new Date(now.getTime() + retryDelayMs(attempts, entryId));
      await outbox.reschedule(entryId, { due, error: failure });
      // Later notifications wait behind this one: the subscriber gets them in order.
      await outbox.deferTarget(subscriptionId, due);
    }
    if (failures >= ERROR_AFTER && subscription.status === 'active') {
      await this.setStatus(current, 'error', `${failures} deliveries in a row failed; the last: ${failure}. Retrying with backoff.`);
    }
    this.w.log.warn({ subscription: subscriptionId, attempts, failure }, 'subscription notification failed');
    return 1;
  }

  /** The HTTP request of one notification, as the subscription's style and payload ask. */
  private request(plan: SubscriptionPlan, n: { subscriptionId: string; subscription: Subscription; entry: OutboxEntry; focus: string; resource?: Resource }): OutboundRequest {
    const headers = { ...Object.fromEntries(plan.headers), 'content-type': FHIR_JSON };
    if (plan.style === 'criteria') {
      // R4 rest-hook: with a payload, the resource is PUT to [endpoint]/[type]/[id]; without, an empty POST.
      return n.resource
        ? { method: 'PUT', url: `${plan.endpoint.replace(/\/+$/, '')}/${n.focus}`, headers, body: JSON.stringify(n.resource) }
        : { method: 'POST', url: plan.endpoint, headers: Object.fromEntries(plan.headers) };
    }
    const bundle = notificationBundle({
      id: n.entry.id.replace(/[^A-Za-z0-9\-.]/g, '-').slice(-64),
      baseUrl: this.w.services.settings.baseUrl,
      subscriptionId: n.subscriptionId,
      topic: plan.topic as string,
      status: n.subscription.status === 'error' ? 'error' : 'active',
      type: 'event-notification',
      eventsSinceStart: Number(n.entry.payload.number),
      events: [{ number: Number(n.entry.payload.number), timestamp: new Date(String(n.entry.payload.at)), focus: n.focus, ...(n.resource ? { resource: n.resource } : {}) }],
      content: plan.content,
      timestamp: this.w.now(),
    });
    return { method: 'POST', url: plan.endpoint, headers, body: JSON.stringify(bundle) };
  }

  /** Why the subscription cannot be served (its criteria or endpoint), or undefined. */
  private async planProblem(subscription: Subscription): Promise<string | undefined> {
    try {
      const plan = readSubscription(subscription);
      return endpointRefusal(plan.endpoint, await this.w.destinations());
    } catch (err) {
      if (err instanceof FhirError && err.status < 500) return err.message;
      throw err;
    }
  }

  /** The server's change of a Subscription's status (and error); a concurrent change wins, the next round looks again. */
  private async setStatus(current: CurrentResource, status: Status, error: string | undefined): Promise<void> {
    const resource = withoutServerMeta(current.resource) as Subscription & { id: string };
    if (resource.status === status && resource.error === error) return;
    const { error: _previous, ...rest } = resource;
    try {
      await this.w.services.repo.apply([{ kind: 'update', method: 'PUT', ifMatchVersion: current.versionId, resource: { ...rest, status, ...(error !== undefined ? { error } : {}) } }]);
      this.w.log.info({ subscription: resource.id, status, error }, 'subscription status changed');
    } catch (err) {
      if (!(err instanceof FhirError && err.code === 'VERSION_CONFLICT')) throw err;
    }
  }
}

function patientsOf(services: FhirServices, resource: Resource): string[] {
  try {
    return compartmentPatients(resource, services.registry);
  } catch {
    return [];
  }
}
