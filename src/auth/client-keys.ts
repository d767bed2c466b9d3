/**
 * The public keys a client's assertions are verified with: its registered JWKS, or the JWKS at
 * the jwks_uri an administrator registered for it — fetched with a timeout, cached, refetched at
 * most every 30 s when an assertion names a kid the cache lacks (jose's remote JWK set). No other
 * URL is ever fetched: a `jku` header is accepted only when it is that registered jwks_uri.
 * See: https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#signature-verification
 */
import { createLocalJWKSet, createRemoteJWKSet, type JWSHeaderParameters, type FlattenedJWSInput, type KeyLike } from 'jose';
import type { RegisteredClient } from '../store/records';

export type ClientKeySet = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<KeyLike | Uint8Array>;

export interface ClientKeySetOptions {
  readonly fetchTimeoutMs: number;
  /** Refetch a jwks_uri at most this often on an unknown kid (default 30 s). */
  readonly cooldownMs?: number;
  /** Refetch a jwks_uri at least this often (default 10 min). */
  readonly cacheMaxAgeMs?: number;
}

/** One key set per client, kept while its registration (keys or URL) stays the same. */
export class ClientKeySets {
  private readonly sets = new Map<string, { readonly source: string; readonly keys: ClientKeySet }>();

  constructor(private readonly options: ClientKeySetOptions) {}

  for(client: RegisteredClient): ClientKeySet {
    const source = client.jwksUri ?? JSON.stringify(client.jwks);
    const cached = this.sets.get(client.clientId);
    if (cached?.source === source) return cached.keys;
    const keys: ClientKeySet =
      client.jwksUri !== undefined
        ? createRemoteJWKSet(new URL(client.jwksUri), {
            timeoutDuration: this.options.fetchTimeoutMs,
            cooldownDuration: this.options.cooldownMs ?? 30_000,
            cacheMaxAge: this.options.cacheMaxAgeMs ?? 600_000,
          })
        : createLocalJWKSet({ keys: (client.jwks?.keys ?? []) as never });
    this.sets.set(client.clientId, { source, keys });
    return keys;
  }
}
