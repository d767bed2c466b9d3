import type { QuestionnaireResponse, QuestionnaireResponseItem } from '@medplum/fhirtypes';
import { FhirError } from '../../../src/fhir/outcomes';
import { GAD7, type Instrument, INSTRUMENTS, PHQ2, PHQ9, instrumentFor } from '../../../src/casemgmt/instruments';
import { BANDS, answeredItems, bandFor, scoreResponse } from '../../../src/casemgmt/scoring';

/** Item scores adding up to `total`: as many 3s as fit, then the rest, then zeros. */
function scoresFor(instrument: Instrument, total: number): number[] {
  let left = total;
  return instrument.items.map(() => {
    const score = Math.min(3, left);
    left -= score;
    return score;
  });
}

function response(instrument: Instrument, items: QuestionnaireResponseItem[], extra: Partial<QuestionnaireResponse> = {}): QuestionnaireResponse {
  return { resourceType: 'QuestionnaireResponse', questionnaire: instrument.url, status: 'completed', subject: { reference: 'Patient/p1' }, item: items, ...extra };
}

/** Table rows [instrument, total, band] as [title, total, band, instrument], for readable titles. */
function titled(rows: [Instrument, number, string][]): [string, number, string, Instrument][] {
  return rows.map(([instrument, total, band]) => [instrument.title, total, band, instrument]);
}

const scored = (instrument: Instrument, scores: number[], extra: Partial<QuestionnaireResponse> = {}) => response(instrument, answeredItems(instrument, scores), extra);

/** The issues of the FhirError `run` throws: [expression, message] pairs. */
function refusal(run: () => unknown): { status: number; issues: { code: string; expression: string[]; diagnostics: string }[] } {
  try {
    run();
  } catch (err) {
    if (!(err instanceof FhirError)) {
      throw err;
    }
    return { status: err.status, issues: err.outcome.issue.map((i) => ({ code: i.code, expression: i.expression ?? [], diagnostics: i.diagnostics ?? '' })) };
  }
  throw new Error('expected a FhirError');
}

describe('instruments', () => {
  test.each([
    [PHQ9.url, 'phq-9'],
    [`${PHQ9.url}|1.0.0`, 'phq-9'],
    [PHQ2.url, 'phq-2'],
    [GAD7.url, 'gad-7'],
  ])('the questionnaire %s is scored as %s', (url, id) => {
    expect(instrumentFor(url)?.id).toBe(id);
  });

  test.each([undefined, 'http://loinc.org/q/44249-1', 'http://casebridge.org/fhir/Questionnaire/PHQ-9', 'http://casebridge.org/fhir/Questionnaire/phq-9/adolescent'])(
    'the questionnaire %s is not scored',
    (url) => {
      expect(instrumentFor(url)).toBeUndefined();
    },
  );

  test('the canonical URLs are http://casebridge.org/fhir/Questionnaire/<id>', () => {
    expect(INSTRUMENTS.map((i) => i.url)).toEqual([
      'http://casebridge.org/fhir/Questionnaire/phq-9',
      'http://casebridge.org/fhir/Questionnaire/phq-2',
      'http://casebridge.org/fhir/Questionnaire/gad-7',
    ]);
  });

  test.each(INSTRUMENTS.map((i) => [i.title, i] as const))('%s bands cover every total from 0 to the maximum, once', (_, instrument) => {
    const max = instrument.items.length * 3;
    const bands = BANDS[instrument.id];
    expect(bands[0]?.min).toBe(0);
    expect(bands[bands.length - 1]?.max).toBe(max);
    bands.slice(1).forEach((band, i) => expect(band.min).toBe((bands[i]?.max ?? NaN) + 1));
  });
});

describe('scoreResponse: totals and bands', () => {
  test.each(titled([
    [PHQ9, 0, 'minimal'],
    [PHQ9, 4, 'minimal'],
    [PHQ9, 5, 'mild'],
    [PHQ9, 9, 'mild'],
    [PHQ9, 10, 'moderate'],
    [PHQ9, 14, 'moderate'],
    [PHQ9, 15, 'moderately-severe'],
    [PHQ9, 19, 'moderately-severe'],
    [PHQ9, 20, 'severe'],
    [PHQ9, 27, 'severe'],
    [GAD7, 0, 'minimal'],
    [GAD7, 4, 'minimal'],
    [GAD7, 5, 'mild'],
    [GAD7, 9, 'mild'],
    [GAD7, 10, 'moderate'],
    [GAD7, 14, 'moderate'],
    [GAD7, 15, 'severe'],
    [GAD7, 21, 'severe'],
    [PHQ2, 0, 'screen-negative'],
    [PHQ2, 2, 'screen-negative'],
    [PHQ2, 3, 'screen-positive'],
    [PHQ2, 6, 'screen-positive'],
  ]))('%s total %i is in band %s', (_, total, band, instrument) => {
    const score = scoreResponse(scored(instrument, scoresFor(instrument, total)));
    expect(score.instrument).toBe(instrument);
    expect(score.total).toBe(total);
    expect(score.band.code).toBe(band);
    expect(bandFor(instrument.id, total).code).toBe(band);
  });

  test('PHQ-2 bands also carry ObservationInterpretation NEG / POS', () => {
    expect(scoreResponse(scored(PHQ2, [1, 1])).band.equivalents).toEqual([expect.objectContaining({ code: 'NEG' })]);
    expect(scoreResponse(scored(PHQ2, [3, 0])).band.equivalents).toEqual([expect.objectContaining({ code: 'POS' })]);
  });

  test('answers may be valueInteger 0-3 as well as LOINC answer codes, mixed', () => {
    const items = answeredItems(PHQ9, [0, 1, 2, 3, 0, 1, 2, 3, 0]).map((item, i) => (i % 2 === 0 ? { ...item, answer: [{ valueInteger: [0, 1, 2, 3, 0, 1, 2, 3, 0][i] }] } : item));
    expect(scoreResponse(response(PHQ9, items)).total).toBe(12);
  });

  test('items may come in any order', () => {
    const items = answeredItems(GAD7, [3, 2, 1, 0, 0, 0, 1]).reverse();
    const score = scoreResponse(response(GAD7, items));
    expect(score.total).toBe(7);
    expect(score.items.map((i) => i.code)).toEqual(GAD7.items.map((i) => i.code));
    expect(score.items[0]).toEqual({ code: '69725-0', score: 3, expression: 'QuestionnaireResponse.item[6].answer[0]' });
  });

  test('positive items are those answered above zero, in the instrument order', () => {
    const score = scoreResponse(scored(PHQ9, [0, 2, 0, 0, 1, 0, 0, 0, 3]));
    expect(score.positiveItems).toEqual(['44255-8', '44251-7', '44260-8']);
  });

  test('an amended response is scored like a completed one', () => {
    expect(scoreResponse(scored(PHQ9, scoresFor(PHQ9, 11), { status: 'amended' })).total).toBe(11);
  });

  test('a version suffix on the questionnaire canonical is ignored', () => {
    expect(scoreResponse(scored(GAD7, scoresFor(GAD7, 3), { questionnaire: `${GAD7.url}|2` })).band.code).toBe('minimal');
  });

  test.each([
    [PHQ9, '44261-6', 8],
    [PHQ2, '55758-7', 4],
    [GAD7, '70274-6', 11],
  ].map(([i, code, total]) => [(i as Instrument).title, code as string, total as number, i as Instrument]))(
    '%s: a calculated total item %s that matches is accepted and not summed',
    (_, code, total, instrument) => {
      const items = [...answeredItems(instrument, scoresFor(instrument, total)), { linkId: code, answer: [{ valueInteger: total }] }];
      expect(scoreResponse(response(instrument, items)).total).toBe(total);
    },
  );

  test('an unanswered calculated total is accepted', () => {
    const items = [...answeredItems(PHQ9, scoresFor(PHQ9, 1)), { linkId: '44261-6' }];
    expect(scoreResponse(response(PHQ9, items)).total).toBe(1);
  });
});

describe('scoreResponse: PHQ-9 item 9 (thoughts of self-harm)', () => {
  test.each([
    [[0, 0, 0, 0, 0, 0, 0, 0, 1], true],
    [[0, 0, 0, 0, 0, 0, 0, 0, 3], true],
    [[3, 3, 3, 3, 3, 3, 3, 3, 0], false],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0], false],
  ])('scores %j: item 9 positive is %s', (scores, positive) => {
    expect(scoreResponse(scored(PHQ9, scores)).selfHarmPositive).toBe(positive);
  });

  test('item 9 is found by its LOINC code wherever it sits', () => {
    const items = answeredItems(PHQ9, [0, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect(scoreResponse(response(PHQ9, [items[8] as QuestionnaireResponseItem, ...items.slice(0, 8)])).selfHarmPositive).toBe(true);
  });

  test.each([GAD7, PHQ2].map((i) => [i.title, i] as const))('%s has no item 9 result', (_, instrument) => {
    expect(scoreResponse(scored(instrument, scoresFor(instrument, 5))).selfHarmPositive).toBeUndefined();
  });
});

describe('scoreResponse: responses that cannot be scored are refused with located issues', () => {
  const phq9 = () => answeredItems(PHQ9, [1, 1, 1, 1, 1, 1, 1, 1, 1]);
  const withItem = (index: number, item: Partial<QuestionnaireResponseItem>) => phq9().map((it, i) => (i === index ? ({ ...it, ...item } as QuestionnaireResponseItem) : it));

  test.each<[string, QuestionnaireResponse, string, RegExp]>([
    ['status in-progress', scored(PHQ9, scoresFor(PHQ9, 3), { status: 'in-progress' }), 'QuestionnaireResponse.status', /status "in-progress" is not scored/],
    ['status stopped', scored(PHQ9, scoresFor(PHQ9, 3), { status: 'stopped' }), 'QuestionnaireResponse.status', /only completed or amended/],
    ['an unknown questionnaire', scored(PHQ9, scoresFor(PHQ9, 3), { questionnaire: 'http://example.org/Questionnaire/x' }), 'QuestionnaireResponse.questionnaire', /not a questionnaire CaseBridge scores/],
    ['a missing item', response(PHQ9, phq9().slice(0, 8)), 'QuestionnaireResponse.item', /item 44260-8 .* is not answered/],
    ['an item without answer', response(PHQ9, withItem(3, { answer: undefined })), 'QuestionnaireResponse.item[3]', /44254-1 .* has no answer/],
    ['an item with an empty answer list', response(PHQ9, withItem(3, { answer: [] })), 'QuestionnaireResponse.item[3]', /has no answer/],
    ['a duplicate item', response(PHQ9, [...phq9(), ...phq9().slice(4, 5)]), 'QuestionnaireResponse.item[9]', /44251-7 is answered more than once \(first at item\[4\]\)/],
    ['two answers to one item', response(PHQ9, withItem(2, { answer: [{ valueInteger: 1 }, { valueInteger: 2 }] })), 'QuestionnaireResponse.item[2].answer[1]', /takes one answer/],
    ['an integer above 3', response(PHQ9, withItem(3, { answer: [{ valueInteger: 4 }] })), 'QuestionnaireResponse.item[3].answer[0].valueInteger', /4 is out of range .* 0 to 3/],
    ['a negative integer', response(PHQ9, withItem(0, { answer: [{ valueInteger: -1 }] })), 'QuestionnaireResponse.item[0].answer[0].valueInteger', /out of range/],
    [
      'an unknown answer code',
      response(PHQ9, withItem(5, { answer: [{ valueCoding: { system: 'http://loinc.org', code: 'LA6572-7' } }] })),
      'QuestionnaireResponse.item[5].answer[0].valueCoding',
      /http:\/\/loinc.org\|LA6572-7 is not a PHQ-9 answer/,
    ],
    [
      'an answer code of another system',
      response(PHQ9, withItem(5, { answer: [{ valueCoding: { system: 'http://example.org', code: 'LA6569-3' } }] })),
      'QuestionnaireResponse.item[5].answer[0].valueCoding',
      /http:\/\/example.org\|LA6569-3 is not a PHQ-9 answer/,
    ],
    ['an answer code without system', response(PHQ9, withItem(5, { answer: [{ valueCoding: { code: 'LA6569-3' } }] })), 'QuestionnaireResponse.item[5].answer[0].valueCoding', /\(no system\)\|LA6569-3/],
    ['a string answer', response(PHQ9, withItem(1, { answer: [{ valueString: '2' }] })), 'QuestionnaireResponse.item[1].answer[0]', /valueCoding .* or a valueInteger .*, not valueString/],
    ['an answer without value', response(PHQ9, withItem(1, { answer: [{}] })), 'QuestionnaireResponse.item[1].answer[0]', /not empty/],
    ['an item not in the instrument', response(PHQ9, [...phq9(), { linkId: '69725-0', answer: [{ valueInteger: 1 }] }]), 'QuestionnaireResponse.item[9].linkId', /"69725-0" is not an item of PHQ-9/],
    ['a PHQ-2 answering PHQ-9 item 3', response(PHQ2, [...answeredItems(PHQ2, [1, 1]), ...phq9().slice(2, 3)]), 'QuestionnaireResponse.item[2].linkId', /not an item of PHQ-2/],
    ['a sub-item', response(PHQ9, withItem(0, { item: [{ linkId: 'x' }] })), 'QuestionnaireResponse.item[0].item[0]', /has no sub-items/],
    ['a sub-item under an answer', response(PHQ9, withItem(0, { answer: [{ valueInteger: 1, item: [{ linkId: 'x' }] }] })), 'QuestionnaireResponse.item[0].answer[0].item[0]', /has no sub-items/],
    ['a calculated total that disagrees', response(PHQ9, [...phq9(), { linkId: '44261-6', answer: [{ valueInteger: 10 }] }]), 'QuestionnaireResponse.item[9].answer[0].valueInteger', /total given in the response \(10\) is not the sum of its answers \(9\)/],
    ['a calculated total that is not an integer', response(PHQ9, [...phq9(), { linkId: '44261-6', answer: [{ valueDecimal: 9.5 }] }]), 'QuestionnaireResponse.item[9].answer[0].valueDecimal', /must be a valueInteger/],
    [
      'the PHQ-9 difficulty item, which CaseBridge\'s PHQ-9 Questionnaire does not ask',
      response(PHQ9, [...phq9(), { linkId: '69722-7', answer: [{ valueCoding: { system: 'http://loinc.org', code: 'LA6573-5' } }] }]),
      'QuestionnaireResponse.item[9].linkId',
      /"69722-7" is not an item of PHQ-9/,
    ],
    ['a calculated total given as a string', response(PHQ9, [...phq9(), { linkId: '44261-6', answer: [{ valueString: '9' }] }]), 'QuestionnaireResponse.item[9].answer[0].valueString', /must be a valueInteger/],
  ])('%s', (_, input, expression, message) => {
    const { status, issues } = refusal(() => scoreResponse(input));
    expect(status).toBe(422);
    expect(issues).toEqual([{ code: 'business-rule', expression: [expression], diagnostics: expect.stringMatching(message) }]);
  });

  test('every problem is reported, each at its own location', () => {
    const items = phq9();
    items[0] = { ...items[0], answer: [{ valueInteger: 7 }] } as QuestionnaireResponseItem;
    items[4] = { linkId: 'bogus', answer: [{ valueInteger: 1 }] };
    const { issues } = refusal(() => scoreResponse(response(PHQ9, [...items, ...items.slice(1, 2)])));
    expect(issues.map((i) => i.expression[0])).toEqual([
      'QuestionnaireResponse.item[0].answer[0].valueInteger',
      'QuestionnaireResponse.item[4].linkId',
      'QuestionnaireResponse.item[9]',
      'QuestionnaireResponse.item',
    ]);
    expect(issues[3]?.diagnostics).toMatch(/44251-7/);
  });

  test('a response without items reports each missing item', () => {
    const { issues } = refusal(() => scoreResponse(response(GAD7, [])));
    expect(issues).toHaveLength(7);
    expect(issues.every((i) => i.expression[0] === 'QuestionnaireResponse.item')).toBe(true);
  });

  test('a total that disagrees is not reported over other problems (it cannot be checked)', () => {
    const items = [...phq9().slice(0, 8), { linkId: '44261-6', answer: [{ valueInteger: 9 }] }];
    const { issues } = refusal(() => scoreResponse(response(PHQ9, items)));
    expect(issues.map((i) => i.expression[0])).toEqual(['QuestionnaireResponse.item']);
  });
});

describe('answeredItems', () => {
  test('builds LOINC-coded answers with linkId = LOINC item code', () => {
    expect(answeredItems(PHQ2, [0, 3])).toEqual([
      { linkId: '44250-9', text: 'Little interest or pleasure in doing things', answer: [{ valueCoding: { system: 'http://loinc.org', code: 'LA6568-5', display: 'Not at all' } }] },
      { linkId: '44255-8', text: 'Feeling down, depressed, or hopeless', answer: [{ valueCoding: { system: 'http://loinc.org', code: 'LA6571-9', display: 'Nearly every day' } }] },
    ]);
  });

  test.each([
    [[1], /has 2 items/],
    [[1, 4], /4 is not a score/],
  ])('refuses scores %j', (scores, message) => {
    expect(() => answeredItems(PHQ2, scores)).toThrow(message);
  });
});
