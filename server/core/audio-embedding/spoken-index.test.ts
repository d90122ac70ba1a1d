import { describe, expect, it } from 'vitest';
import { SeqserveError } from '../errors.ts';
import { CollectionStore, overlap, rankHits, SpokenIndex, topCandidates } from './spoken-index.ts';

const v = (...xs: number[]) => {
  const n = Math.hypot(...xs);
  return Float32Array.from(xs, (x) => x / n);
};
const seg = (start: number, end: number, ...xs: number[]) => ({ start, end, embedding: v(...xs) });
const limits = { maxDocuments: 3, maxSegments: 6, maxSeconds: 10 };
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as SeqserveError).code;
  }
  return 'ok';
};

describe('rankHits', () => {
  it('ranks by score and keeps one of overlapping segments of a document', () => {
    const hits = [
      { document_id: 'a', start: 0, end: 1, score: 0.5 },
      { document_id: 'a', start: 0.1, end: 0.9, score: 0.9 },
      { document_id: 'b', start: 0.1, end: 0.9, score: 0.7 },
      { document_id: 'a', start: 2, end: 3, score: 0.6 },
    ];
    expect(rankHits(hits, 10).map((h) => [h.document_id, h.start, h.score])).toEqual([
      ['a', 0.1, 0.9],
      ['b', 0.1, 0.7],
      ['a', 2, 0.6],
    ]);
    expect(rankHits(hits, 2)).toHaveLength(2);
    expect(overlap({ start: 0, end: 1 }, { start: 1, end: 2 })).toBe(0);
    expect(overlap({ start: 0, end: 1 }, { start: 0.5, end: 3 })).toBe(0.5);
  });
});

describe('SpokenIndex', () => {
  it('finds the segment most like the query by cosine', () => {
    const index = new SpokenIndex(3, limits);
    index.add('d1', 2, [seg(0, 0.5, 1, 0, 0), seg(1, 1.5, 0, 1, 0)]);
    index.add('d2', 2, [seg(0.2, 0.6, 0, 0.8, 0.6), seg(1, 1.4, 0, 0, 1)]);
    const hits = index.search(v(0, 1, 0.1), 3);
    expect(hits.map((h) => [h.document_id, h.start])).toEqual([
      ['d1', 1],
      ['d2', 0.2],
      ['d2', 1],
    ]);
    expect(hits[0].score).toBeCloseTo(1 / Math.hypot(1, 0.1), 6);
    expect(hits[1].score).toBeGreaterThan(hits[2].score);
    expect(code(() => index.search(v(1, 0), 1))).toBe('invalid_argument');
  });

  it('holds documents, segments and seconds to its limits (resource_exhausted), ids once', () => {
    const index = new SpokenIndex(2, limits);
    index.add('a', 4, [seg(0, 1, 1, 0), seg(1, 2, 0, 1)]);
    expect(code(() => index.add('a', 1, []))).toBe('failed_precondition');
    expect(code(() => index.add('b', 7, []))).toBe('resource_exhausted'); // 11 s > 10 s
    expect(
      code(() =>
        index.add(
          'b',
          1,
          Array.from({ length: 5 }, () => seg(0, 1, 1, 1)),
        ),
      ),
    ).toBe('resource_exhausted'); // 7 segments > 6
    index.add('b', 1, []);
    index.add('c', 1, []);
    expect(code(() => index.add('d', 1, []))).toBe('resource_exhausted'); // 4 documents > 3
    expect([index.documentCount, index.segmentCount, index.seconds]).toEqual([3, 2, 6]);
    expect(code(() => index.checkRoom(undefined, 1, 0))).toBe('resource_exhausted');
    expect(index.search(v(1, 0), 5).map((h) => h.document_id)).toEqual(['a', 'a']);
  });

  it('gives a document without an id the next unused doc-N, never reused', () => {
    const index = new SpokenIndex(2, limits);
    expect(index.add(undefined, 1, []).id).toBe('doc-1');
    index.add('doc-2', 1, []);
    expect(index.add(undefined, 1, []).id).toBe('doc-3');
    expect(index.documents().map((d) => d.id)).toEqual(['doc-1', 'doc-2', 'doc-3']);
  });

  it('grows by doubling, but never past maxSegments rows', () => {
    const index = new SpokenIndex(2, { maxDocuments: 10, maxSegments: 100, maxSeconds: 1000 });
    index.add(
      'a',
      1,
      Array.from({ length: 65 }, () => seg(0, 1, 1, 0)),
    );
    expect((index as unknown as { vectors: Float32Array }).vectors.length).toBe(100 * 2);
    index.add(
      'b',
      1,
      Array.from({ length: 35 }, () => seg(0, 1, 0, 1)),
    );
    expect(index.segmentCount).toBe(100);
  });

  it('grows past its first allocation', () => {
    const index = new SpokenIndex(2, { maxDocuments: 10, maxSegments: 1000, maxSeconds: 1000 });
    index.add(
      'a',
      1,
      Array.from({ length: 200 }, (_, i) => seg(i, i + 0.5, 1, i / 100)),
    );
    expect(index.search(v(1, 0), 1)[0].start).toBe(0);
    expect(index.search(v(1, 1.99), 1)[0].start).toBe(199);
  });
});

describe('CollectionStore', () => {
  it('creates collections per name for one model, within maxCollections, and checks names', () => {
    const store = new CollectionStore({ ...limits, maxCollections: 2 });
    const a = store.open('a', 'm', 2);
    expect(store.open('a', 'm', 2)).toBe(a);
    expect(code(() => store.open('a', 'other', 2))).toBe('invalid_argument');
    store.open('b', 'm', 2);
    expect(code(() => store.open('c', 'm', 2))).toBe('resource_exhausted');
    expect(code(() => store.get('nope'))).toBe('not_found');
    expect(code(() => store.get('bad name'))).toBe('invalid_argument');
    a.add('x', 1, [seg(0, 1, 1, 0)]);
    expect(store.info('a')).toMatchObject({ name: 'a', model: 'm', dimensions: 2, segments: 1, seconds: 1, documents: [{ id: 'x', seconds: 1, segments: 1 }] });
    expect(store.delete('a')).toBe(true);
    expect(store.names()).toEqual(['b']);
  });

  it('checkRoom says what open and add would refuse, changing nothing', () => {
    const store = new CollectionStore({ ...limits, maxCollections: 1 });
    store.checkRoom('a', 'm', undefined, 10, 6); // a new collection at its limits
    expect(code(() => store.checkRoom('a', 'm', undefined, 11, 0))).toBe('resource_exhausted');
    expect(code(() => store.checkRoom('a', 'm', undefined, 1, 7))).toBe('resource_exhausted');
    expect(store.names()).toEqual([]);
    store.open('a', 'm', 2).add('x', 4, [seg(0, 1, 1, 0)]);
    expect(code(() => store.checkRoom('a', 'other', undefined, 1, 0))).toBe('invalid_argument');
    expect(code(() => store.checkRoom('a', 'm', 'x', 1, 0))).toBe('failed_precondition');
    expect(code(() => store.checkRoom('a', 'm', undefined, 1, 6))).toBe('resource_exhausted'); // 7 segments > 6
    expect(code(() => store.checkRoom('b', 'm', undefined, 1, 0))).toBe('resource_exhausted'); // 2 collections > 1
    store.checkRoom('a', 'm', undefined, 6, 5);
    expect(store.info('a')).toMatchObject({ segments: 1, seconds: 4 });
  });
});

describe('topCandidates', () => {
  it('keeps the m best rows (ties: earlier rows), whatever their order', () => {
    const scores = Float64Array.from([0.1, 0.9, 0.5, 0.9, 0.3, 0.7, 0.2]);
    const rows = [6, 5, 4, 3, 2, 1, 0];
    expect(topCandidates(rows, scores, 3).sort()).toEqual([1, 3, 5]);
    expect(topCandidates(rows, scores, 1)).toEqual([1]);
    expect(topCandidates(rows, scores, 10).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('a search finds the same hits as ranking every segment', () => {
    const index = new SpokenIndex(4, { maxDocuments: 10, maxSegments: 10_000, maxSeconds: 1e6 });
    let seed = 3;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
    const all: { document_id: string; start: number; end: number; score: number }[] = [];
    const q = v(0.5, -0.2, 0.3, 0.1);
    for (let d = 0; d < 4; d++) {
      const segs = Array.from({ length: 300 }, (_, i) => seg(i * 0.1, i * 0.1 + 0.4, rand(), rand(), rand(), rand()));
      index.add(`d${d}`, 1, segs);
      for (const s of segs) all.push({ document_id: `d${d}`, start: s.start, end: s.end, score: s.embedding.reduce((a, x, i) => a + x * q[i], 0) });
    }
    const got = index.search(q, 20);
    const want = rankHits(all, 20);
    expect(got.map((h) => [h.document_id, h.start])).toEqual(want.map((h) => [h.document_id, h.start]));
  });
});
