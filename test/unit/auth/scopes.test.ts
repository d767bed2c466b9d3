/** SMART scopes: parsing, v1 → v2, coverage, what the token endpoint grants, and what a token's
 *  scopes allow per interaction. */
import type { Interaction } from '../../../src/auth/caller';
import {
  formatScope,
  grantScopes,
  intersectScopes,
  normaliseScope,
  parseScope,
  permissionFor,
  scopeCovers,
  scopeDecision,
  scopesAllow,
  splitScopes,
  type SmartScope,
} from '../../../src/auth/scopes';

const parsed = (text: string): SmartScope => {
  const scope = parseScope(text);
  if (scope === undefined) throw new Error(`not a scope: ${text}`);
  return scope;
};

describe('parseScope', () => {
  test.each<[string, Partial<SmartScope>]>([
    ['system/CarePlan.read', { context: 'system', resourceType: 'CarePlan', permissions: 'rs', syntax: 'v1', restrictions: [] }],
    ['system/CarePlan.write', { permissions: 'cud', syntax: 'v1' }],
    ['system/CarePlan.*', { permissions: 'cruds', syntax: 'v1' }],
    ['system/*.read', { resourceType: '*', permissions: 'rs' }],
    ['system/CarePlan.rs', { permissions: 'rs', syntax: 'v2' }],
    ['system/CarePlan.cruds', { permissions: 'cruds', syntax: 'v2' }],
    ['system/*.c', { resourceType: '*', permissions: 'c' }],
    ['patient/Observation.rs', { context: 'patient' }],
    ['user/Observation.r', { context: 'user', permissions: 'r' }],
    [
      'system/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
      { permissions: 'rs', restrictions: [{ name: 'category', value: 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory' }] },
    ],
    [
      'system/Observation.rs?category=a&code:in=http://vs.example.org/x',
      { restrictions: [{ name: 'category', value: 'a' }, { name: 'code:in', value: 'http://vs.example.org/x' }] },
    ],
  ])('%s', (text, expected) => {
    expect(parseScope(text)).toMatchObject(expected);
  });

  test.each([
    ['not a resource scope', 'openid'],
    ['launch context', 'launch/patient'],
    ['letters out of order', 'system/CarePlan.sr'],
    ['a letter twice', 'system/CarePlan.rrs'],
    ['no letters', 'system/CarePlan.'],
    ['an unknown letter', 'system/CarePlan.x'],
    ['an unknown context', 'admin/CarePlan.rs'],
    ['a lower-case type', 'system/careplan.rs'],
    ['a v1 scope with a restriction', 'system/Observation.read?category=a'],
    ['a restriction without a value', 'system/Observation.rs?category='],
    ['a restriction without a name', 'system/Observation.rs?=a'],
    ['an empty restriction list', 'system/Observation.rs?'],
    ['whitespace inside', 'system/Observation.rs?category=a b'],
    ['a leading space', ' system/Observation.rs'],
  ])('refuses %s: %s', (_title, text) => {
    expect(parseScope(text)).toBeUndefined();
  });
});

test.each([
  ['system/CarePlan.read', 'system/CarePlan.rs'],
  ['system/CarePlan.write', 'system/CarePlan.cud'],
  ['system/CarePlan.*', 'system/CarePlan.cruds'],
  ['system/*.*', 'system/*.cruds'],
  ['system/CarePlan.rs', 'system/CarePlan.rs'],
  ['system/Observation.rs?category=a&category=a', 'system/Observation.rs?category=a'],
])('normaliseScope(%s) = %s', (v1, v2) => {
  expect(normaliseScope(v1)).toBe(v2);
});

test('splitScopes: space-separated, each once', () => {
  expect(splitScopes(' system/Patient.rs  system/Patient.rs system/Task.cruds ')).toEqual(['system/Patient.rs', 'system/Task.cruds']);
});

describe('scopeCovers(registered, requested)', () => {
  test.each<[string, string, boolean]>([
    ['system/*.cruds', 'system/CarePlan.rs', true],
    ['system/*.cruds', 'system/*.cruds', true],
    ['system/*.*', 'system/CarePlan.rs', true],
    ['system/CarePlan.read', 'system/CarePlan.rs', true],
    ['system/CarePlan.rs', 'system/CarePlan.read', true],
    ['system/CarePlan.rs', 'system/CarePlan.r', true],
    ['system/CarePlan.rs', 'system/CarePlan.write', false],
    ['system/CarePlan.rs', 'system/CarePlan.rds', false],
    ['system/CarePlan.cruds', 'system/*.rs', false],
    ['system/CarePlan.cruds', 'system/Goal.rs', false],
    ['patient/*.cruds', 'system/CarePlan.rs', false],
    ['system/*.rs', 'patient/CarePlan.rs', false],
    ['system/Observation.rs', 'system/Observation.rs?category=a', true],
    ['system/Observation.rs?category=a', 'system/Observation.rs', false],
    ['system/Observation.rs?category=a', 'system/Observation.rs?category=a', true],
    ['system/Observation.rs?category=a', 'system/Observation.rs?category=a&code=b', true],
    ['system/Observation.rs?category=a', 'system/Observation.rs?category=b', false],
  ])('%s covers %s: %s', (registered, requested, expected) => {
    expect(scopeCovers(parsed(registered), parsed(requested))).toBe(expected);
  });
});

describe('intersectScopes', () => {
  test.each<[string, string, string | undefined]>([
    ['system/*.cruds', 'system/Patient.rs', 'system/Patient.rs'],
    ['system/Patient.cruds', 'system/*.rs', 'system/Patient.rs'],
    ['system/*.read', 'system/*.write', undefined],
    ['system/Patient.rs', 'system/Goal.rs', undefined],
    ['system/Observation.rs', 'system/*.cr?category=a', 'system/Observation.r?category=a'],
    ['system/Observation.rs?code=b', 'system/*.rs?category=a', 'system/Observation.rs?code=b&category=a'],
    ['system/Patient.rs', 'patient/Patient.rs', undefined],
  ])('%s ∩ %s = %s', (a, b, expected) => {
    const result = intersectScopes(parsed(a), parsed(b));
    expect(result === undefined ? undefined : formatScope(result)).toBe(expected);
  });
});

describe('grantScopes(requested, registered)', () => {
  test.each<[string, string, string[], string[], string[]]>([
    ['what is registered, as requested (v1 stays v1)', 'system/Patient.read system/Task.rs', ['system/*.cruds'], ['system/Patient.read', 'system/Task.rs'], []],
    ['the wildcard narrowed to the registered types', 'system/*.cruds', ['system/Patient.rs', 'system/Task.cruds'], ['system/Patient.rs', 'system/Task.cruds'], []],
    ['letters narrowed to the registered ones', 'system/Patient.cruds', ['system/*.rs'], ['system/Patient.rs'], []],
    ['a v1 scope narrowed in v2', 'system/Patient.*', ['system/Patient.read'], ['system/Patient.rs'], []],
    ['a registered restriction carried into the grant', 'system/Observation.rs', ['system/Observation.rs?category=a'], ['system/Observation.rs?category=a'], []],
    ['a requested restriction kept', 'system/Observation.rs?category=a', ['system/*.rs'], ['system/Observation.rs?category=a'], []],
    ['nothing of another type', 'system/Patient.rs system/Goal.rs', ['system/Patient.rs'], ['system/Patient.rs'], ['system/Goal.rs']],
    ['no patient or user scopes for a backend service', 'patient/Patient.rs user/Patient.rs', ['system/*.cruds'], [], ['patient/Patient.rs', 'user/Patient.rs']],
    ['no non-resource scopes', 'openid offline_access system/Patient.rs', ['system/*.cruds'], ['system/Patient.rs'], ['openid', 'offline_access']],
    ['a registered patient scope grants nothing', 'system/Patient.rs', ['patient/*.cruds'], [], ['system/Patient.rs']],
    ['a scope another granted one covers is dropped', 'system/Patient.rs system/*.cruds', ['system/*.cruds'], ['system/*.cruds'], []],
    ['a narrowed scope another one covers is dropped', 'system/*.rs', ['system/Patient.rs', 'system/*.r'], ['system/Patient.rs', 'system/*.r'], []],
    ['two equivalent scopes: the first', 'system/Patient.read system/Patient.rs', ['system/*.cruds'], ['system/Patient.read'], []],
  ])('%s', (_title, requested, registered, granted, refused) => {
    expect(grantScopes(splitScopes(requested), registered)).toEqual({ granted, refused });
  });
});

describe('permissionFor: the letter each interaction needs', () => {
  test.each<[Interaction, string | undefined]>([
    ['read', 'r'],
    ['vread', 'r'],
    ['history-instance', 'r'],
    ['history-type', 'r'],
    ['history-system', 'r'],
    ['create', 'c'],
    ['update', 'u'],
    ['patch', 'u'],
    ['delete', 'd'],
    ['search-type', 's'],
    ['search-system', 's'],
    ['capabilities', undefined],
    ['batch', undefined],
    ['transaction', undefined],
    ['operation', undefined],
  ])('%s → %s', (interaction, letter) => {
    expect(permissionFor(interaction)).toBe(letter);
  });
});

describe('scopesAllow(scopes, request)', () => {
  test.each<[string, string[], Interaction, string | undefined, boolean]>([
    ['v2 read', ['system/CarePlan.rs'], 'read', 'CarePlan', true],
    ['v2 search', ['system/CarePlan.rs'], 'search-type', 'CarePlan', true],
    ['v2 read does not update', ['system/CarePlan.rs'], 'update', 'CarePlan', false],
    ['v2 read does not reach another type', ['system/CarePlan.rs'], 'read', 'Goal', false],
    ['r without s does not search', ['system/CarePlan.r'], 'search-type', 'CarePlan', false],
    ['s without r does not read', ['system/CarePlan.s'], 'read', 'CarePlan', false],
    ['v1 read reads', ['system/CarePlan.read'], 'vread', 'CarePlan', true],
    ['v1 read searches', ['system/CarePlan.read'], 'search-type', 'CarePlan', true],
    ['v1 write creates', ['system/CarePlan.write'], 'create', 'CarePlan', true],
    ['v1 write patches', ['system/CarePlan.write'], 'patch', 'CarePlan', true],
    ['v1 write deletes', ['system/CarePlan.write'], 'delete', 'CarePlan', true],
    ['v1 write does not read', ['system/CarePlan.write'], 'read', 'CarePlan', false],
    ['v1 * does everything', ['system/CarePlan.*'], 'delete', 'CarePlan', true],
    ['the wildcard type', ['system/*.cruds'], 'update', 'Patient', true],
    ['system search needs the wildcard', ['system/CarePlan.rs'], 'search-system', undefined, false],
    ['system search with the wildcard', ['system/*.s'], 'search-system', undefined, true],
    ['system history needs the wildcard', ['system/Patient.read'], 'history-system', undefined, false],
    ['a patient scope grants nothing here', ['patient/*.cruds'], 'read', 'Patient', false],
    ['no scopes, no access', [], 'read', 'Patient', false],
    ['a malformed scope grants nothing', ['system/Patient.rx'], 'read', 'Patient', false],
    ['a granular scope alone is not a full grant', ['system/Observation.rs?category=a'], 'search-type', 'Observation', false],
    ['the CapabilityStatement needs no scope', [], 'capabilities', undefined, true],
    ['Bundles are checked entry by entry', [], 'transaction', undefined, true],
  ])('%s', (_title, scopes, interaction, resourceType, expected) => {
    expect(scopesAllow(scopes, { interaction, ...(resourceType ? { resourceType } : {}) })).toBe(expected);
  });
});

describe('scopeDecision', () => {
  test('granular scopes only: restricted, with the restrictions of each', () => {
    expect(scopeDecision(['system/Observation.rs?category=a', 'system/*.r?_security=b', 'system/Goal.rs'], { interaction: 'read', resourceType: 'Observation' })).toEqual({
      outcome: 'restricted',
      permission: 'r',
      alternatives: [[{ name: 'category', value: 'a' }], [{ name: '_security', value: 'b' }]],
    });
  });

  test('an unrestricted scope beside a granular one: granted', () => {
    expect(scopeDecision(['system/Observation.rs?category=a', 'system/Observation.r'], { interaction: 'read', resourceType: 'Observation' })).toEqual({ outcome: 'granted', permission: 'r' });
  });

  test('nothing grants the letter: denied, naming it', () => {
    expect(scopeDecision(['system/Observation.rs'], { interaction: 'delete', resourceType: 'Observation' })).toEqual({ outcome: 'denied', permission: 'd' });
  });
});
