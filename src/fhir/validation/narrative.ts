/**
 * Narrative (txt-1, txt-2), which Medplum does not check (its htmlChecks() always passes): an
 * XHTML <div> that "SHALL NOT contain a head, a body element, external stylesheet references,
 * deprecated elements, scripts, forms, base/link/xlink, frames, iframes, objects or event related
 * attributes". Narrative is shown to people, so script in it is an attack on them. Checked with
 * patterns, not parsed: this rejects the dangerous content the spec names, it is not an HTML
 * sanitizer, and deprecated presentational elements (<font>, <center>) are tolerated.
 * See: https://hl7.org/fhir/R4/narrative.html#xhtml
 */
import type { IssueType } from '../outcomes';

const NARRATIVE_FORBIDDEN_ELEMENTS = new Set([
  'head', 'body', 'script', 'noscript', 'form', 'input', 'button', 'select', 'textarea', 'base', 'link', 'meta',
  'frame', 'frameset', 'iframe', 'object', 'embed', 'applet', 'svg', 'math',
]);
const XHTML_ROOT = /^\s*<div(\s[^>]*)?>[\s\S]*<\/div>\s*$/;
const XHTML_NAMESPACE = /\sxmlns\s*=\s*(["'])http:\/\/www\.w3\.org\/1999\/xhtml\1/;
const XHTML_TAG = /<\s*([A-Za-z][\w.:-]*)([^>]*)>/g;

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);?/gi, (_m, hex: string) => String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff)))
    .replace(/&#(\d+);?/g, (_m, dec: string) => String.fromCodePoint(Math.min(Number(dec), 0x10ffff)))
    .replace(/&colon;/gi, ':');
}

/** What is wrong with a Narrative.div, or undefined. */
export function narrativeProblem(div: string): { type: IssueType; message: string } | undefined {
  const root = XHTML_ROOT.exec(div);
  if (!root) {
    return { type: 'structure', message: 'Narrative must be a single XHTML <div> element' };
  }
  if (!XHTML_NAMESPACE.test(root[1] ?? '')) {
    return { type: 'structure', message: 'Narrative <div> must declare xmlns="http://www.w3.org/1999/xhtml"' };
  }
  const txt1 = (what: string) => ({ type: 'invariant' as const, message: `Constraint txt-1 not met: the narrative may not contain ${what}` });
  for (const tag of div.matchAll(XHTML_TAG)) {
    const name = (tag[1] ?? '').toLowerCase().replace(/^.*:/, '');
    const attributes = tag[2] ?? '';
    if (NARRATIVE_FORBIDDEN_ELEMENTS.has(name)) {
      return txt1(`<${name}> elements`);
    }
    if (/(^|\s)on[a-z]+\s*=/i.test(attributes)) {
      return txt1('event attributes (onclick, …)');
    }
    if (/(^|\s)xlink:/i.test(attributes)) {
      return txt1('xlink attributes');
    }
    if (/(java|vb)script:/i.test(decodeEntities(attributes).replace(/[\s\u0000-\u001f]/g, ''))) {
      return txt1('script URLs');
    }
  }
  if (!/<img\b/i.test(div) && decodeEntities(div.replace(/<[^>]*>/g, '')).trim() === '') {
    return { type: 'invariant', message: 'Constraint txt-2 not met: The narrative SHALL have some non-whitespace content' };
  }
  return undefined;
}
