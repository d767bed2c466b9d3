// A Caller as the authentication middleware makes one from an access token, for unit tests that
// build a RequestContext by hand (integration tests get theirs from real tokens: support/app.ts).
import type { ClientCaller } from '../../src/auth/caller';

export function clientCaller(fields: Pick<ClientCaller, 'id'> & Partial<ClientCaller>): ClientCaller {
  return {
    kind: 'system',
    display: fields.id,
    clientId: fields.id,
    scopes: [],
    role: 'administrator',
    purposes: [],
    tokenId: `token-of-${fields.id}`,
    expiresAt: new Date('2100-01-01T00:00:00Z'),
    ...fields,
  };
}
