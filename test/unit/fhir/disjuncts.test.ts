import { topLevelDisjuncts } from '../../../src/fhir/validation/disjuncts';

describe('topLevelDisjuncts: the operands of a top-level or chain', () => {
  it('splits ref-1 and per-1 into their operands', () => {
    expect(topLevelDisjuncts("reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))")).toEqual([
      "reference.startsWith('#').not()",
      "(reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))",
    ]);
    expect(topLevelDisjuncts('start.hasValue().not() or end.hasValue().not() or (start <= end)')).toEqual([
      'start.hasValue().not()',
      'end.hasValue().not()',
      '(start <= end)',
    ]);
  });

  it('keeps and-operands together, since and binds tighter than or', () => {
    expect(topLevelDisjuncts('a.exists() and b.exists() or c.empty()')).toEqual(['a.exists() and b.exists()', 'c.empty()']);
  });

  it('does not split inside brackets, strings, delimited identifiers or comments', () => {
    expect(topLevelDisjuncts('(a or b)')).toBeUndefined();
    expect(topLevelDisjuncts("a = ' or ' and b.where(c or d).exists()")).toBeUndefined();
    expect(topLevelDisjuncts('`x or y`.exists()')).toBeUndefined();
    expect(topLevelDisjuncts('a /* or */ and b // or c')).toBeUndefined();
    expect(topLevelDisjuncts("a = 'it\\'s or not' or b")).toEqual(["a = 'it\\'s or not'", 'b']);
  });

  it('does not split where xor or implies also sit at top level (they bind looser or equal)', () => {
    expect(topLevelDisjuncts('a or b implies c')).toBeUndefined();
    expect(topLevelDisjuncts('a or b xor c')).toBeUndefined();
    expect(topLevelDisjuncts('a implies (b or c)')).toBeUndefined();
  });

  it('does not take an element or a variable named like the operator for it', () => {
    expect(topLevelDisjuncts('x.or.exists() and %or.empty()')).toBeUndefined();
    expect(topLevelDisjuncts('order.exists() or origin.empty()')).toEqual(['order.exists()', 'origin.empty()']);
  });

  it('gives up on unbalanced text, leaving the engine to report it', () => {
    expect(topLevelDisjuncts('(a or b')).toBeUndefined();
    expect(topLevelDisjuncts('a) or (b')).toBeUndefined();
    expect(topLevelDisjuncts('a or')).toBeUndefined();
  });
});
