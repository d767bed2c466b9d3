// TEST ONLY, and temporary: the application as a caller of a given kind and organisation sees it,
// until the harness gets real SMART tokens (issue 10, deliverable 1; see support/app.ts on the
// auth branch). Today every request is the anonymous administrator of http/request-context.ts;
// this wraps the test app so that the request context's caller is the one given, by pinning
// res.locals.caller before the app's own middleware runs. Nothing in src/ changes or can be
// switched by it. When tokens land, this function's body becomes "register a client with this
// role, organisation, scopes and purposes, and send its token" — the tests that call it stay.
import express, { type Express } from 'express';
import type { Caller, Role } from '../../src/auth/caller';
import type { TestApp } from './app';

export interface ActingAs {
  readonly role: Role;
  /** Client id (default: `<role>-client`). */
  readonly id?: string;
  readonly organization?: string;
  readonly purposes?: readonly string[];
  /** SMART scopes (default: every interaction on every type). */
  readonly scopes?: readonly string[];
}

export async function actingAs(t: TestApp, who: ActingAs): Promise<Express> {
  const id = who.id ?? `${who.role}-client`;
  const caller: Caller = {
    kind: 'system',
    id,
    display: `Test ${who.role} client ${id}`,
    scopes: who.scopes ?? ['system/*.cruds'],
    role: who.role,
    ...(who.organization !== undefined ? { organization: who.organization } : {}),
    ...(who.purposes !== undefined ? { purposes: who.purposes } : {}),
  };
  const wrapper = express();
  wrapper.use((_req, res, next) => {
    Object.defineProperty(res.locals, 'caller', { get: () => caller, set: () => undefined, enumerable: true });
    next();
  });
  wrapper.use(t.app);
  return wrapper;
}
