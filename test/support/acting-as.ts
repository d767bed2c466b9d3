// The application as a registered client of a given kind and organisation sees it: the client is
// registered in the test's database with its own key pair (as `npm run client:register` does),
// and every request the returned app sends carries that client's real access token, obtained
// from the real token endpoint. Nothing is switched off: the token is checked as any other.
import express, { type Express } from 'express';
import type { Role } from '../../src/auth/caller';
import { type TestApp, registerTestClient } from './app';

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
  const client = await registerTestClient(t, {
    clientId: who.id ?? `${who.role}-client`,
    role: who.role,
    scopes: who.scopes ?? ['system/*.cruds'],
    ...(who.organization !== undefined ? { organization: who.organization } : {}),
    ...(who.purposes !== undefined ? { purposes: who.purposes } : {}),
  });
  const token = await client.token(who.purposes !== undefined ? { purposes: who.purposes } : {});
  const wrapper = express();
  wrapper.use((req, _res, next) => {
    req.headers.authorization ??= `Bearer ${token}`;
    next();
  });
  wrapper.use(t.bareApp);
  return wrapper;
}
