/** The referral Task's state machine (SDOHCC Task for Referral Management), by role. */
import { allowedNext, checkTransition, pathTo } from '../../../src/workflows/referrals/task-status';

describe('allowed moves', () => {
  test.each([
    ['requested', ['owner'], ['accepted', 'rejected']],
    ['requested', ['requester'], ['cancelled', 'entered-in-error']],
    ['draft', ['requester'], ['requested', 'cancelled', 'entered-in-error']],
    ['draft', ['owner'], []],
    ['accepted', ['owner'], ['in-progress', 'on-hold', 'failed', 'completed', 'cancelled']],
    ['accepted', ['requester'], ['cancelled']],
    ['in-progress', ['owner'], ['on-hold', 'failed', 'completed', 'cancelled']],
    ['on-hold', ['owner'], ['in-progress', 'failed', 'cancelled']],
    ['completed', ['owner', 'requester'], []],
    ['rejected', ['owner', 'requester'], []],
  ] as const)('from %s, as %j: %j', (from, roles, expected) => {
    expect(allowedNext(from, roles)).toEqual(expected);
  });
});

describe('checkTransition', () => {
  test.each([
    ['requested → completed directly is refused, naming accepted and rejected', { from: 'requested', to: 'completed', roles: ['owner'] as const, hasReason: false }, { ok: false, problem: 'not-allowed', allowed: ['accepted', 'rejected'] }],
    ['the requester cannot accept', { from: 'requested', to: 'accepted', roles: ['requester'] as const, hasReason: false }, { ok: false, problem: 'not-allowed', allowed: ['cancelled', 'entered-in-error'] }],
    ['rejected needs a reason', { from: 'requested', to: 'rejected', roles: ['owner'] as const, hasReason: false }, { ok: false, problem: 'reason-required' }],
    ['rejected with a reason', { from: 'requested', to: 'rejected', roles: ['owner'] as const, hasReason: true }, { ok: true }],
    ['on hold needs a reason', { from: 'in-progress', to: 'on-hold', roles: ['owner'] as const, hasReason: false }, { ok: false, problem: 'reason-required' }],
    ['failed needs a reason', { from: 'in-progress', to: 'failed', roles: ['owner'] as const, hasReason: false }, { ok: false, problem: 'reason-required' }],
    ['cancelled needs a reason', { from: 'accepted', to: 'cancelled', roles: ['requester'] as const, hasReason: false }, { ok: false, problem: 'reason-required' }],
    ['staying put is always allowed (a note, an output)', { from: 'in-progress', to: 'in-progress', roles: [] as const, hasReason: false }, { ok: true }],
    ['a new referral is a draft or requested', { from: undefined, to: 'accepted', roles: ['requester'] as const, hasReason: false }, { ok: false, problem: 'not-allowed', allowed: ['draft', 'requested'] }],
    ['a new referral sent', { from: undefined, to: 'requested', roles: ['requester'] as const, hasReason: false }, { ok: true }],
  ])('%s', (_title, args, expected) => {
    expect(checkTransition(args)).toEqual(expected);
  });
});

test.each([
  ['requested', 'completed', ['accepted', 'completed']],
  ['requested', 'in-progress', ['accepted', 'in-progress']],
  ['accepted', 'accepted', []],
  ['completed', 'accepted', undefined],
])('the way from %s to %s: %j', (from, to, expected) => {
  expect(pathTo(from, to)).toEqual(expected);
});
