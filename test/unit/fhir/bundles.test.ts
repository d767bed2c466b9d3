/** Bundle builders: the shapes every Bundle CaseBridge answers with. See: https://hl7.org/fhir/R4/bundle.html */
import { bundle } from '../../../src/fhir/bundles';

describe('bundle', () => {
  test.each<[string, Parameters<typeof bundle>[1], Record<string, unknown>]>([
    ['no entries: no entry element (JSON arrays are never empty)', { entry: [], total: 0 }, { resourceType: 'Bundle', type: 'searchset', total: 0 }],
    ['no links: no link element', { link: [] }, { resourceType: 'Bundle', type: 'searchset' }],
    [
      'entries and links as given',
      { entry: [{ fullUrl: 'http://x/Patient/1' }], link: [{ relation: 'self', url: 'http://x/Patient' }] },
      { resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'self', url: 'http://x/Patient' }], entry: [{ fullUrl: 'http://x/Patient/1' }] },
    ],
  ])('%s', (_title, options, expected) => {
    expect(bundle('searchset', options)).toEqual(expected);
  });
});
