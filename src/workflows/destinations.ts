/**
 * Where CaseBridge may send or fetch (issue 10: no outbound fetch of client-supplied URLs except
 * configured partners). Pure.
 *
 * - A partner's FHIR server: URLs under the base URL an administrator registered for it (and its
 *   token endpoint: the one registered, or the one its discovery document names on the same
 *   origin).
 * - A Subscription's rest-hook endpoint (client-supplied): only at an origin an administrator
 *   allowed — SUBSCRIPTION_ENDPOINT_ORIGINS, or the origin of a registered, active partner.
 *   Checked when the Subscription is written (422) and again before each delivery (the
 *   configuration may have changed since).
 * - A payer's $submit-attachment (its URL comes in the payer's request): only under the base
 *   URL of a registered partner.
 */
export interface AllowedDestinations {
  /** Origins allowed for subscription endpoints besides the partners'. */
  readonly endpointOrigins: readonly string[];
  /** The base URLs of the active partners. */
  readonly partnerBases: readonly string[];
}

/** The URL, parsed, when it is an absolute http(s) URL without credentials; undefined otherwise. */
export function parseDestination(url: string): URL | undefined {
  try {
    const parsed = new URL(url);
    if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.username !== '' || parsed.password !== '') return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}

/** True when `url` is under `base` (same origin, and the path starts with the base's path). */
export function isUnder(url: string, base: string): boolean {
  const target = parseDestination(url);
  const root = parseDestination(base);
  if (!target || !root || target.origin !== root.origin) return false;
  const prefix = root.pathname.replace(/\/+$/, '');
  return target.pathname === prefix || target.pathname.startsWith(`${prefix}/`);
}

/** Why a subscription endpoint is not allowed, or undefined when it is. */
export function endpointRefusal(endpoint: string, allowed: AllowedDestinations): string | undefined {
  const url = parseDestination(endpoint);
  if (!url) return 'the endpoint must be an absolute http(s) URL without credentials';
  const origins = new Set([...allowed.endpointOrigins, ...allowed.partnerBases.flatMap((b) => parseDestination(b)?.origin ?? [])]);
  if (!origins.has(url.origin)) {
    return `notifications are sent only to origins an administrator allowed (SUBSCRIPTION_ENDPOINT_ORIGINS, or a registered partner's): ${url.origin} is not one`;
  }
  return undefined;
}
