// A reader's view decides, once per transaction, whether the versions it wrote are shown
// (store/mongo/journal.ts): only a transaction committed before the view was taken shows.
import { ReadView } from '../../../src/store/mongo/journal';

type Journal = { _id: string; state: 'applying' | 'committed' | 'rolling-back' | 'rolled-back'; commitSeq?: number };

function viewOver(asOf: number, journals: Map<string, Journal>): { view: ReadView; lookups: string[][] } {
  const lookups: string[][] = [];
  const view = new ReadView(
    asOf,
    async (ids) => {
      lookups.push([...ids]);
      return ids.flatMap((id) => (journals.has(id) ? [{ ...(journals.get(id) as Journal) }] : []));
    },
    async (at) => [...journals.values()].filter((j) => j.state !== 'committed' || (at !== undefined && (j.commitSeq ?? 0) > at)).map((j) => j._id),
  );
  return { view, lookups };
}

test('committed no later than the view, or forgotten: shown; open, rolled back or committed after: hidden', async () => {
  const journals = new Map<string, Journal>([
    ['before', { _id: 'before', state: 'committed', commitSeq: 7 }],
    ['at', { _id: 'at', state: 'committed', commitSeq: 8 }],
    ['after', { _id: 'after', state: 'committed', commitSeq: 9 }],
    ['open', { _id: 'open', state: 'applying' }],
    ['undoing', { _id: 'undoing', state: 'rolling-back' }],
    ['undone', { _id: 'undone', state: 'rolled-back' }],
    ['older-version', { _id: 'older-version', state: 'committed' }],
  ]);
  const { view } = viewOver(8, journals);
  const visible = await view.visible(['before', 'at', 'after', 'open', 'undoing', 'undone', 'older-version', 'forgotten']);
  expect(Object.fromEntries(visible)).toEqual({
    before: true,
    at: true,
    after: false,
    open: false,
    undoing: false,
    undone: false,
    'older-version': true,
    forgotten: true,
  });
});

test('a transaction is decided once: one that commits while the view reads stays hidden to it', async () => {
  // It took its number (8) before the view read the clock, but had not yet marked its journal.
  const journals = new Map<string, Journal>([['racing', { _id: 'racing', state: 'applying' }]]);
  const { view, lookups } = viewOver(8, journals);
  expect((await view.visible(['racing'])).get('racing')).toBe(false);
  journals.set('racing', { _id: 'racing', state: 'committed', commitSeq: 8 });
  expect((await view.visible(['racing', 'racing'])).get('racing')).toBe(false);
  expect(await view.hidden()).toEqual(['racing']);
  // Looked up once, however many of its versions the reader meets.
  expect(lookups).toEqual([['racing']]);
  // A new view sees it.
  expect((await viewOver(8, journals).view.visible(['racing'])).get('racing')).toBe(true);
});

test('hidden(): what the view decided to hide and what is not shown now, never what it showed', async () => {
  const journals = new Map<string, Journal>([
    ['shown', { _id: 'shown', state: 'committed', commitSeq: 2 }],
    ['open', { _id: 'open', state: 'applying' }],
  ]);
  const { view } = viewOver(5, journals);
  expect((await view.visible(['shown'])).get('shown')).toBe(true);
  journals.set('later', { _id: 'later', state: 'committed', commitSeq: 6 });
  expect((await view.hidden()).sort()).toEqual(['later', 'open']);
});
