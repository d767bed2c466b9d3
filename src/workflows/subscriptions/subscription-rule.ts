/**
 * What every write of a Subscription must satisfy (a WriteRule of the write pipeline, so the FHIR
 * API, Bundles and $validate alike): a channel, criteria and payload CaseBridge serves
 * (subscription-request.ts), an endpoint at an origin an administrator allowed
 * (destinations.ts), a subscriber allowed to search what it subscribes to (its scopes), and a
 * status the client may set — `requested` (the server activates it) or `off`, or the one it has.
 * The writer becomes the subscriber: notifications carry only what it may see, with its labels
 * and consents, and stop if its registration is disabled.
 */
import type { Subscription } from '@medplum/fhirtypes';
import { authorize } from '../../auth/authorize';
import type { WriteRule } from '../../core/services';
import { FhirError } from '../../fhir/outcomes';
import { parseSearch } from '../../search/parse';
import type { SubscriptionStates } from '../../store/records';
import { readIfPresent } from '../../store/repository';
import { recordCaller } from '../../core/recorded-client';
import { type AllowedDestinations, endpointRefusal } from '../destinations';
import { type SubscriptionPlan, readSubscription } from './subscription-request';

export interface SubscriptionRuleDependencies {
  readonly states: SubscriptionStates;
  readonly destinations: () => Promise<AllowedDestinations>;
  readonly now: () => Date;
}

/** Statuses a client may set; `active` and `error` are the server's to set. */
const CLIENT_STATUSES = new Set(['requested', 'off']);

export function subscriptionRule(deps: SubscriptionRuleDependencies): WriteRule {
  return {
    resourceTypes: ['Subscription'],
    async check(services, ctx, write) {
      const subscription = write.resource as Subscription & { id: string };
      const plan = readSubscription(subscription);
      checkCriteria(plan, services);
      const refusal = endpointRefusal(plan.endpoint, await deps.destinations());
      if (refusal) throw new FhirError('BUSINESS_RULE', refusal, { expression: ['Subscription.channel.endpoint'] });
      authorize(services.access, ctx.caller, { interaction: 'search-type', resourceType: plan.resourceType });
      const current = write.kind === 'update' ? ((await readIfPresent(services.repo, 'Subscription', subscription.id))?.resource as Subscription | undefined) : undefined;
      if (!CLIENT_STATUSES.has(subscription.status) && subscription.status !== current?.status) {
        throw new FhirError('BUSINESS_RULE', `A client sets a Subscription to requested (the server then activates it) or off, not ${subscription.status}`, { expression: ['Subscription.status'] });
      }
      const subscriber = recordCaller(ctx.caller);
      if (!subscriber) throw new FhirError('FORBIDDEN', 'Only a registered client may subscribe');
      // Recorded before the write lands: a write that then fails leaves a record the sweep removes.
      await deps.states.subscribe(subscription.id, subscriber, deps.now());
    },
  };
}

/** The criteria are a valid search of the type (what a client could send to [base]/[type]?…). */
function checkCriteria(plan: SubscriptionPlan, services: Parameters<WriteRule['check']>[0]): void {
  try {
    parseSearch(plan.resourceType, plan.query, services.registry, { strict: true, defaultCount: 1, maxCount: 1, baseUrl: services.settings.baseUrl });
  } catch (err) {
    if (err instanceof FhirError && err.status < 500) {
      throw new FhirError('BUSINESS_RULE', `The subscription's criteria are not a search CaseBridge answers: ${err.message}`, { expression: ['Subscription.criteria'] });
    }
    throw err;
  }
}
