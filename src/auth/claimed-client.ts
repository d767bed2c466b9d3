import { decodeJwt } from 'jose';

/**
 * The client a JWT says it comes from (sub, else iss), read WITHOUT verifying it: only for the
 * audit record of a refused attempt ("who claimed to be calling"), never to decide anything.
 */
export function claimedClientId(jwt: string | undefined): string | undefined {
  if (!jwt) return undefined;
  try {
    const payload = decodeJwt(jwt);
    const claimed = typeof payload.sub === 'string' ? payload.sub : payload.iss;
    // A record, not a sink for whatever a caller sends: ids are short and plain.
    return typeof claimed === 'string' && /^[\x21-\x7e]{1,128}$/.test(claimed) ? claimed : undefined;
  } catch {
    return undefined;
  }
}

/** The bearer token of an Authorization header, if it has one. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}
