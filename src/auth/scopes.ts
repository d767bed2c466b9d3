/**
 * SMART scopes, pure: parsing (v1 and v2, with v2 granular restrictions), v1 → v2 normalisation,
 * whether a registered scope covers a requested one, what the token endpoint grants, and which
 * permission letter each FHIR interaction needs.
 * See: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 *
 * v2 grammar: `(patient|user|system)/(Type|*).(c?r?u?d?s?)[?param=value&…]`, letters in that order;
 * v1 wrote `.read` (v2 `rs`), `.write` (v2 `cud`) and `.*` (v2 `cruds`).
 */
import type { AccessRequest, Interaction } from './caller';

export type ScopeContext = 'patient' | 'user' | 'system';
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/** One `param=value` of a v2 granular scope (e.g. `category=…|laboratory`): the resources it
 *  grants are those the search `Type?param=value` would find. Kept as written (still encoded). */
export interface ScopeRestriction {
  readonly name: string;
  readonly value: string;
}

export interface SmartScope {
  readonly context: ScopeContext;
  /** A resource type, or `*` for every type. */
  readonly resourceType: string;
  /** The v2 letters it grants, in `cruds` order (`.read` → `rs`). */
  readonly permissions: string;
  /** v2 granular restrictions, all of which a resource must match; empty when unrestricted. */
  readonly restrictions: readonly ScopeRestriction[];
  readonly syntax: 'v1' | 'v2';
}

const ORDER = 'cruds';
const SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{1,63})\.(read|write|\*|c?r?u?d?s?)(?:\?(.+))?$/;
const V1_LETTERS: Readonly<Record<string, string>> = { read: 'rs', write: 'cud', '*': 'cruds' };
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
const PARAMETER_VALUE = /^[^\s&=]{1,512}$/;

/** A SMART resource scope, or undefined for anything else (`openid`, `launch`, malformed). */
export function parseScope(text: string): SmartScope | undefined {
  const match = SCOPE.exec(text);
  if (match === null) return undefined;
  const [, context, resourceType, permissions, query] = match as unknown as [string, ScopeContext, string, string, string | undefined];
  if (permissions === '') return undefined;
  const v1 = V1_LETTERS[permissions];
  // Granular restrictions are a v2 feature; `system/Observation.read?category=x` is not a scope.
  if (v1 !== undefined && query !== undefined) return undefined;
  const restrictions = query === undefined ? [] : parseRestrictions(query);
  if (restrictions === undefined) return undefined;
  return { context, resourceType, permissions: v1 ?? permissions, restrictions, syntax: v1 === undefined ? 'v2' : 'v1' };
}

function parseRestrictions(query: string): ScopeRestriction[] | undefined {
  const restrictions: ScopeRestriction[] = [];
  for (const part of query.split('&')) {
    const equals = part.indexOf('=');
    const name = part.slice(0, equals);
    const value = part.slice(equals + 1);
    if (equals < 0 || !PARAMETER_NAME.test(name) || !PARAMETER_VALUE.test(value)) return undefined;
    if (!restrictions.some((r) => r.name === name && r.value === value)) restrictions.push({ name, value });
  }
  return restrictions;
}

/** The v2 spelling of a scope (`system/Patient.read` → `system/Patient.rs`). */
export function formatScope(scope: SmartScope): string {
  const query = scope.restrictions.map((r) => `${r.name}=${r.value}`).join('&');
  return `${scope.context}/${scope.resourceType}.${scope.permissions}${query === '' ? '' : `?${query}`}`;
}

/** v1 → v2, or undefined when `text` is not a SMART resource scope. */
export function normaliseScope(text: string): string | undefined {
  const scope = parseScope(text);
  return scope === undefined ? undefined : formatScope(scope);
}

/** The scopes of a space-separated `scope` parameter, each once, in order. */
export function splitScopes(parameter: string): string[] {
  return [...new Set(parameter.split(' ').filter((s) => s !== ''))];
}

/**
 * True when everything `requested` grants, `registered` grants too: same context, the same type
 * (or a registered `*`), no letter more, and at least the registered restrictions (restrictions
 * are ANDed like search parameters, so more of them grant less).
 */
export function scopeCovers(registered: SmartScope, requested: SmartScope): boolean {
  return (
    registered.context === requested.context &&
    (registered.resourceType === '*' || registered.resourceType === requested.resourceType) &&
    [...requested.permissions].every((letter) => registered.permissions.includes(letter)) &&
    registered.restrictions.every((r) => requested.restrictions.some((q) => q.name === r.name && q.value === r.value))
  );
}

/** What both scopes grant, or undefined when they share nothing. */
export function intersectScopes(a: SmartScope, b: SmartScope): SmartScope | undefined {
  if (a.context !== b.context) return undefined;
  const resourceType = a.resourceType === '*' ? b.resourceType : b.resourceType === '*' || b.resourceType === a.resourceType ? a.resourceType : undefined;
  const permissions = [...ORDER].filter((letter) => a.permissions.includes(letter) && b.permissions.includes(letter)).join('');
  if (resourceType === undefined || permissions === '') return undefined;
  const restrictions = [...a.restrictions];
  for (const r of b.restrictions) {
    if (!restrictions.some((q) => q.name === r.name && q.value === r.value)) restrictions.push(r);
  }
  return { context: a.context, resourceType, permissions, restrictions, syntax: 'v2' };
}

export interface ScopeGrant {
  /** What the token carries: a requested scope the registration covers, as it was written (v1
   *  stays v1); otherwise what it shares with the registered scopes, in v2. */
  readonly granted: readonly string[];
  /** Requested scopes of which nothing could be granted. */
  readonly refused: readonly string[];
}

/**
 * The scopes a backend service is granted: what it asked for, narrowed to what it is registered
 * for. Only `system/` scopes are granted (backend services act for no patient or user). An
 * authorization server may grant less than requested and then says so in `scope`.
 * See: https://www.rfc-editor.org/rfc/rfc6749#section-3.3 and
 * https://hl7.org/fhir/smart-app-launch/backend-services.html#issue-access-token
 */
export function grantScopes(requested: readonly string[], registered: readonly string[]): ScopeGrant {
  const registeredScopes = registered.map(parseScope).filter((s): s is SmartScope => s !== undefined && s.context === 'system');
  const granted: string[] = [];
  const grantedScopes: SmartScope[] = [];
  const refused: string[] = [];
  const add = (text: string, scope: SmartScope) => {
    if (!granted.includes(text)) {
      granted.push(text);
      grantedScopes.push(scope);
    }
  };
  for (const text of requested) {
    const scope = parseScope(text);
    if (scope === undefined || scope.context !== 'system') {
      refused.push(text);
      continue;
    }
    if (registeredScopes.some((r) => scopeCovers(r, scope))) {
      add(text, scope);
      continue;
    }
    const shared = registeredScopes.map((r) => intersectScopes(scope, r)).filter((s): s is SmartScope => s !== undefined);
    const kept = withoutRedundant(shared);
    if (kept.length === 0) refused.push(text);
    for (const s of kept) add(formatScope(s), s);
  }
  // A scope covered by another granted one adds nothing (`system/*.cruds system/Patient.rs`).
  const needed = new Set(withoutRedundant(grantedScopes));
  return { granted: granted.filter((_, i) => needed.has(grantedScopes[i] as SmartScope)), refused };
}

/** Drops each scope another one covers (of two equivalent ones, the later). */
function withoutRedundant(scopes: readonly SmartScope[]): SmartScope[] {
  return scopes.filter((scope, i) => !scopes.some((other, j) => j !== i && scopeCovers(other, scope) && (j < i || !scopeCovers(scope, other))));
}

/**
 * The letter an interaction needs: reads and history `r`, searches `s`, `c`, `u` (update and
 * patch) and `d`. Undefined where no single letter applies: the CapabilityStatement is public,
 * batch and transaction Bundles are checked entry by entry, and operations check what they touch.
 */
export function permissionFor(interaction: Interaction): Permission | undefined {
  switch (interaction) {
    case 'read':
    case 'vread':
    case 'history-instance':
    case 'history-type':
    case 'history-system':
      return 'r';
    case 'create':
      return 'c';
    case 'update':
    case 'patch':
      return 'u';
    case 'delete':
      return 'd';
    case 'search-type':
    case 'search-system':
      return 's';
    case 'capabilities':
    case 'batch':
    case 'transaction':
    case 'operation':
      return undefined;
  }
}

export type ScopeDecision =
  /** An unrestricted scope grants it (or the interaction needs no letter). */
  | { readonly outcome: 'granted'; readonly permission?: Permission }
  /** Only granular scopes grant it: a resource is within reach when it matches every
   *  restriction of one of `alternatives`. */
  | { readonly outcome: 'restricted'; readonly permission: Permission; readonly alternatives: readonly (readonly ScopeRestriction[])[] }
  | { readonly outcome: 'denied'; readonly permission: Permission };

/**
 * What `scopes` (as granted in the token) allow for one interaction on one type. Only `system/`
 * scopes count. A system-level interaction (no resourceType: search-system, history-system)
 * needs a `*` scope, since it may return any type.
 */
export function scopeDecision(scopes: readonly string[], request: AccessRequest): ScopeDecision {
  const permission = permissionFor(request.interaction);
  if (permission === undefined) return { outcome: 'granted' };
  const granting = scopes
    .map(parseScope)
    .filter((s): s is SmartScope => s !== undefined && s.context === 'system')
    .filter((s) => (s.resourceType === '*' || s.resourceType === request.resourceType) && s.permissions.includes(permission));
  if (granting.some((s) => s.restrictions.length === 0)) return { outcome: 'granted', permission };
  if (granting.length > 0) return { outcome: 'restricted', permission, alternatives: granting.map((s) => s.restrictions) };
  return { outcome: 'denied', permission };
}

/** True when an unrestricted scope grants the interaction. A granular scope alone does not:
 *  whoever honours it must filter by its restrictions (scopeDecision says which). */
export function scopesAllow(scopes: readonly string[], request: AccessRequest): boolean {
  return scopeDecision(scopes, request).outcome === 'granted';
}
