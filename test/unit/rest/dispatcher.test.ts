/** The dispatcher: hooks run around every interaction of the table, outermost first; the access check denies by default. */
import type { AccessPolicy } from '../../../src/auth/caller';
import type { RequestContext } from '../../../src/core/context';
import type { FhirRequest, FhirResponse } from '../../../src/core/exchange';
import type { FhirServices } from '../../../src/core/services';
import { FhirError } from '../../../src/fhir/outcomes';
import { type Hook, authorizeInteraction, createDispatcher } from '../../../src/rest/dispatcher';
import type { Route } from '../../../src/rest/route-table';
import pino from 'pino';
import { clientCaller } from '../../support/callers';

const ctx: RequestContext = {
  requestId: 'r1',
  caller: clientCaller({ id: 'client-a', display: 'Client A', scopes: ['system/Patient.rs'] }),
  log: pino({ level: 'silent' }),
  prefer: {},
};

/** Grants what the test says, and records what it was asked. */
function policy(granted: (interaction: string, type?: string) => boolean) {
  const asked: string[] = [];
  const access: AccessPolicy = {
    allows: (_caller, request) => {
      asked.push(`${request.interaction} ${request.resourceType ?? '-'}`);
      return granted(request.interaction, request.resourceType);
    },
    storeAccess: async () => ({}),
  };
  // The routes here never touch the store; the dispatcher only asks it for the caller's view.
  const repo = { scoped: () => repo };
  return { services: { access, repo } as unknown as FhirServices, asked };
}

const ok = (body: string): FhirResponse => ({ status: 200, headers: {}, body: { resourceType: 'Patient', id: body } });
const get = (path: string): FhirRequest => ({ method: 'GET', path, query: {}, headers: {} });

const routes: Route[] = [
  { method: 'GET', path: ':type/:id', interaction: 'read', handle: async ({ params }) => ok(`read ${params.resourceType}/${params.id}`) },
  { method: 'GET', path: ':type', interaction: 'search-type', handle: async ({ params }) => ok(`search ${params.resourceType}`) },
  // A route that dispatches further, as a batch does with its entries.
  { method: 'POST', path: '', interaction: 'batch', handle: async ({ ctx: c, dispatch }) => dispatch(c, get('Observation/o1')) },
];

test('hooks run in order around the handler and see the interaction, its type and id', async () => {
  const { services } = policy(() => true);
  const seen: string[] = [];
  const trace =
    (name: string): Hook =>
    async (invocation, next) => {
      seen.push(`${name} before ${invocation.interaction} ${invocation.params.resourceType}/${invocation.params.id}`);
      const response = await next();
      seen.push(`${name} after ${response.status}`);
      return response;
    };
  const dispatch = createDispatcher({ services, routes, hooks: [trace('outer'), trace('inner')] });
  const response = await dispatch(ctx, get('Patient/p1'));
  expect(response.body?.id).toBe('read Patient/p1');
  expect(seen).toEqual(['outer before read Patient/p1', 'inner before read Patient/p1', 'inner after 200', 'outer after 200']);
});

test('the access check asks the policy for the interaction and type, and a refusal is 403 before the handler runs', async () => {
  const { services, asked } = policy((interaction) => interaction !== 'read');
  let ran = false;
  const dispatch = createDispatcher({ services, routes: [{ ...(routes[0] as Route), handle: async () => ((ran = true), ok('x')) }], hooks: [authorizeInteraction] });
  await expect(dispatch(ctx, get('Patient/p1'))).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
  expect(ran).toBe(false);
  expect(asked).toEqual(['read Patient']);
});

test('a request routed by a handler (a Bundle entry) goes through the hooks again', async () => {
  const { services, asked } = policy(() => true);
  const dispatch = createDispatcher({ services, routes, hooks: [authorizeInteraction] });
  const response = await dispatch(ctx, { method: 'POST', path: '', query: {}, headers: {} });
  expect(response.body?.id).toBe('read Observation/o1');
  expect(asked).toEqual(['batch -', 'read Observation']);
});

test('a path no route fits is refused before any hook runs', async () => {
  const { services, asked } = policy(() => true);
  const dispatch = createDispatcher({ services, routes, hooks: [authorizeInteraction] });
  await expect(dispatch(ctx, get('Patient/p1/x/y'))).rejects.toBeInstanceOf(FhirError);
  expect(asked).toEqual([]);
});
