/** FHIR JSON text keeps the precision of decimals. See: https://hl7.org/fhir/R4/datatypes.html#decimal */
import { JsonTextError, MAX_JSON_DEPTH, cloneFhirJson, keepDecimalText, parseFhirJson, parseRequestJson, stringifyFhirJson } from '../../../src/fhir/json-text';

describe('round trip of decimals', () => {
  test.each([
    ['a trailing zero', '{"value":1.50}'],
    ['a price', '{"value":100.00}'],
    ['an exponent', '{"value":1e2}'],
    ['a negative zero', '{"value":-0}'],
    ['more digits than a double holds', '{"value":0.1000000000000000055511151231257827}'],
    ['numbers in an array', '{"values":[1.0,2,3.10]}'],
    ['nested objects', '{"component":[{"valueQuantity":{"value":7.20,"unit":"mmol/L"}},{"valueQuantity":{"value":7.2}}]}'],
    ['canonical numbers only', '{"a":1.5,"b":2,"c":-3.25}'],
    ['number-like text inside strings', '{"text":"ratio: 1.50, rate 2e3","value":1.50}'],
  ])('%s', (_title, text) => {
    expect(stringifyFhirJson(parseFhirJson(text))).toBe(text);
  });

  test('values stay plain numbers for everything else', () => {
    const parsed = parseFhirJson('{"value":1.50,"list":[2.0]}') as { value: unknown; list: unknown[] };
    expect(parsed.value).toBe(1.5);
    expect(Object.keys(parsed)).toEqual(['value', 'list']);
    expect(JSON.stringify(parsed)).toBe('{"value":1.5,"list":[2]}');
  });

  test('a changed value is written as it now is', () => {
    const parsed = parseFhirJson('{"value":1.50,"other":2.50}') as { value: number };
    parsed.value = 1.75;
    expect(stringifyFhirJson(parsed)).toBe('{"value":1.75,"other":2.50}');
  });

  test('duplicate keys stop the pairing rather than pair wrongly', () => {
    expect(stringifyFhirJson(parseFhirJson('{"a":1.50,"a":2.50,"b":3.10}'))).toBe('{"a":2.5,"b":3.1}');
  });

  test('a string cannot pose as a remembered decimal', () => {
    const text = '{"note":"\\u0000abc:1.50","value":1.50}';
    expect(stringifyFhirJson(parseFhirJson(text))).toBe(text);
  });

  test('a remembered decimal deep in a large value is found, after many plain entries', () => {
    const plain = Array.from({ length: 50 }, (_, i) => ({ resource: { resourceType: 'Observation', id: `o${i}`, valueInteger: i } }));
    const text = JSON.stringify({ entry: [...plain, { resource: { component: [{ valueQuantity: { value: 1 } }] } }] }).replace('"value":1}', '"value":1.0}');
    expect(stringifyFhirJson(parseFhirJson(text))).toBe(text);
    expect(stringifyFhirJson(parseFhirJson(text), 1)).toBe(JSON.stringify(JSON.parse(text), undefined, 1).replace('"value": 1\n', '"value": 1.0\n'));
  });

  test('indentation', () => {
    expect(stringifyFhirJson(parseFhirJson('{"v":[1.10]}'), 2)).toBe('{\n  "v": [\n    1.10\n  ]\n}');
  });

  test('copies keep the remembered text; spread copies of an object too', () => {
    const parsed = parseFhirJson('{"q":{"value":1.50},"v":[2.0]}') as { q: object };
    expect(stringifyFhirJson(cloneFhirJson(parsed))).toBe('{"q":{"value":1.50},"v":[2.0]}');
    expect(stringifyFhirJson({ q: { ...parsed.q } })).toBe('{"q":{"value":1.50}}');
    expect(stringifyFhirJson({ q: keepDecimalText(parsed.q, Object.fromEntries(Object.entries(parsed.q))) })).toBe('{"q":{"value":1.50}}');
  });
});

describe('a client\'s JSON text (parseRequestJson)', () => {
  function thrown(text: string): JsonTextError {
    try {
      parseRequestJson(text);
    } catch (err) {
      if (err instanceof JsonTextError) return err;
      throw err;
    }
    throw new Error('expected a JsonTextError');
  }

  test.each([
    ['at the root', '{"a":1,"a":2}', ['a']],
    ['in an array item', '{"list":[{"x":1},{"y":1,"y":2}]}', ['list', 1, 'y']],
    ['written with an escape', '{"ab":1,"a\\u0062":2}', ['ab']],
    ['after a string holding quotes and braces', '{"s":"\\"}{,","s":1}', ['s']],
  ])('a repeated key is refused with its path (%s)', (_title, text, path) => {
    const err = thrown(text);
    expect(err.kind).toBe('duplicate-key');
    expect(err.path).toEqual(path);
  });

  test('nesting past MAX_JSON_DEPTH is refused; at the limit it is not', () => {
    expect(thrown(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`).kind).toBe('too-deep');
    expect(() => parseRequestJson(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`)).not.toThrow();
  });

  test.each(['9007199254740993', '1234567890123456', '0.1000000000000001', '1.50', '-0'])('keeps the text of %s', (n) => {
    expect(stringifyFhirJson(parseRequestJson(`{"v":${n},"w":[${n}]}`))).toBe(`{"v":${n},"w":[${n}]}`);
  });

  test('stored text keeps 16-digit numbers too (parseFhirJson)', () => {
    expect(stringifyFhirJson(parseFhirJson('{"v":9007199254740993}'))).toBe('{"v":9007199254740993}');
  });

  test('syntax errors stay SyntaxErrors', () => {
    expect(() => parseRequestJson('{"a":')).toThrow(SyntaxError);
  });
});
