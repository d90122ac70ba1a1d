/**
 * Query-by-example spoken term search over embedded segments, in memory: a collection holds the
 * candidate segments of its spoken documents as unit vectors (audio-encoder.ts), and a spoken query's
 * vector ranks them by cosine similarity (an exhaustive scan: one dot product per segment), the best
 * of overlapping segments of one document kept. No text anywhere.
 *
 * Limits bound what one server holds (collections, documents, segments, seconds of audio); past
 * them a request is refused with resource_exhausted (429). At scale the vectors would go to a vector
 * database with an approximate nearest-neighbour index (HNSW, IVF-PQ): it persists them, shares them
 * between server processes, and answers in sub-linear time over millions of segments, where this
 * scan is linear and each process holds its own copy. Runtime-agnostic: the demo page ranks with it too.
 */
import { invalidArgument, notFound, SeqserveError } from '../errors.ts';
import type { EmbeddedAudio } from './audio-encoder.ts';

export interface SpokenIndexLimits {
  /** Documents per collection. */
  maxDocuments: number;
  /** Embedded segments per collection. */
  maxSegments: number;
  /** Seconds of indexed audio per collection. */
  maxSeconds: number;
}

export interface StoreLimits extends SpokenIndexLimits {
  /** Collections per server. */
  maxCollections: number;
}

export const DEFAULT_STORE_LIMITS: StoreLimits = { maxCollections: 16, maxDocuments: 500, maxSegments: 50_000, maxSeconds: 3600 };

/** The most hits one search returns. */
export const MAX_TOP_K = 100;

export interface SearchHit {
  document_id: string;
  start: number;
  end: number;
  score: number;
}

export interface DocumentInfo {
  id: string;
  seconds: number;
  segments: number;
}

function exhausted(message: string, field?: string): SeqserveError {
  return new SeqserveError('resource_exhausted', message, field === undefined ? {} : { field });
}

/** The fraction of the shorter span that two spans share. */
export function overlap(a: { start: number; end: number }, b: { start: number; end: number }): number {
  const shared = Math.min(a.end, b.end) - Math.max(a.start, b.start);
  if (shared <= 0) return 0;
  return shared / Math.max(1e-9, Math.min(a.end - a.start, b.end - b.start));
}

/**
 * The best `topK` of scored segments, best first, skipping a segment that overlaps (more than
 * `maxOverlap` of the shorter) a better one of the same document: one hit per spoken occurrence.
 */
export function rankHits(hits: readonly SearchHit[], topK: number, maxOverlap = 0.5): SearchHit[] {
  const sorted = [...hits].sort((a, b) => b.score - a.score || a.document_id.localeCompare(b.document_id) || a.start - b.start);
  const kept: SearchHit[] = [];
  for (const h of sorted) {
    if (kept.length >= topK) break;
    if (kept.some((k) => k.document_id === h.document_id && overlap(k, h) > maxOverlap)) continue;
    kept.push(h);
  }
  return kept;
}

/** Cosine similarity of two vectors (unit vectors: their dot product). */
export function dot(a: Float32Array, b: Float32Array, offset = 0): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[offset + i];
  return s;
}

/** The `m` rows of `rows` with the highest scores (ties: earlier rows), in no order: a min-heap of m. */
export function topCandidates(rows: readonly number[], scores: Float64Array, m: number): number[] {
  if (rows.length <= m) return [...rows];
  const heap: number[] = [];
  const worse = (a: number, b: number) => scores[a] < scores[b] || (scores[a] === scores[b] && a > b);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < heap.length && worse(heap[l], heap[w])) w = l;
      if (r < heap.length && worse(heap[r], heap[w])) w = r;
      if (w === i) return;
      [heap[i], heap[w]] = [heap[w], heap[i]];
      i = w;
    }
  };
  for (const row of rows) {
    if (heap.length < m) {
      heap.push(row);
      for (let i = heap.length - 1; i > 0 && worse(heap[i], heap[(i - 1) >> 1]); i = (i - 1) >> 1) [heap[i], heap[(i - 1) >> 1]] = [heap[(i - 1) >> 1], heap[i]];
    } else if (worse(heap[0], row)) {
      heap[0] = row;
      down(0);
    }
  }
  return heap;
}

/** One collection: its documents' segments as rows of one growing matrix. */
export class SpokenIndex {
  private vectors: Float32Array;
  private rows = 0;
  private readonly docOf: number[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly docs: DocumentInfo[] = [];
  private readonly byId = new Map<string, number>();
  private totalSeconds = 0;
  /** The last default document id's number (`doc-1`, `doc-2`, ...: never reused). */
  private lastDefaultId = 0;

  constructor(
    readonly dimensions: number,
    readonly limits: SpokenIndexLimits,
  ) {
    this.vectors = new Float32Array(Math.min(64, limits.maxSegments) * dimensions);
  }

  get documentCount(): number {
    return this.byId.size;
  }

  get segmentCount(): number {
    return this.rows;
  }

  get seconds(): number {
    return this.totalSeconds;
  }

  documents(): DocumentInfo[] {
    return [...this.docs];
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * What `add` would refuse for a document of `seconds` cut into `segments` candidate segments
   * (checked before they are embedded too); no `id`: a default one.
   */
  checkRoom(id: string | undefined, seconds: number, segments: number, field = 'file'): void {
    if (id !== undefined && this.byId.has(id))
      throw new SeqserveError('failed_precondition', `id: document "${id}" is already in the collection (delete the collection or choose another id)`, { field: 'id' });
    if (this.byId.size + 1 > this.limits.maxDocuments) throw exhausted(`the collection holds ${this.byId.size} documents; the limit is ${this.limits.maxDocuments}`);
    if (this.totalSeconds + seconds > this.limits.maxSeconds)
      throw exhausted(
        `${field}: ${seconds.toFixed(1)} s more would make ${(this.totalSeconds + seconds).toFixed(1)} s of audio in the collection; the limit is ${this.limits.maxSeconds} s`,
        field,
      );
    if (this.segmentCount + segments > this.limits.maxSegments)
      throw exhausted(`${field}: ${segments} more segments would make ${this.segmentCount + segments}; the collection's limit is ${this.limits.maxSegments}`, field);
  }

  /**
   * Adds a document's embedded segments (all of the collection's dimensions); no `id`: the next
   * unused `doc-N` (N counts up and is never reused).
   */
  add(id: string | undefined, seconds: number, segments: readonly EmbeddedAudio[]): DocumentInfo {
    this.checkRoom(id, seconds, segments.length);
    for (const s of segments)
      if (s.embedding.length !== this.dimensions) throw new SeqserveError('internal', `a segment of ${s.embedding.length} dimensions in a collection of ${this.dimensions}`);
    while (id === undefined || this.byId.has(id)) id = `doc-${++this.lastDefaultId}`; // a given id is new (checkRoom)
    const needed = (this.rows + segments.length) * this.dimensions;
    if (needed > this.vectors.length) {
      // doubling, up to the most the limits let the collection hold
      const grown = new Float32Array(Math.max(needed, Math.min(this.vectors.length * 2, this.limits.maxSegments * this.dimensions)));
      grown.set(this.vectors.subarray(0, this.rows * this.dimensions));
      this.vectors = grown;
    }
    const doc = this.docs.length;
    const info: DocumentInfo = { id, seconds: Math.round(seconds * 1000) / 1000, segments: segments.length };
    this.docs.push(info);
    this.byId.set(id, doc);
    for (const s of segments) {
      this.vectors.set(s.embedding, this.rows * this.dimensions);
      this.docOf.push(doc);
      this.starts.push(s.start);
      this.ends.push(s.end);
      this.rows++;
    }
    this.totalSeconds += seconds;
    return info;
  }

  /** The `topK` segments most like the query vector, best first, one per spoken occurrence. */
  search(query: Float32Array, topK: number): SearchHit[] {
    if (query.length !== this.dimensions) throw invalidArgument('file', `the query has ${query.length} dimensions; the collection's have ${this.dimensions}`);
    const scores = new Float64Array(this.rows);
    const live: number[] = [];
    for (let r = 0; r < this.rows; r++) {
      scores[r] = dot(query, this.vectors, r * this.dimensions);
      live.push(r);
    }
    const better = (a: number, b: number) => scores[b] - scores[a] || a - b; // best first; ties: earlier rows
    // the best few candidates first (overlapping windows of one occurrence crowd the top); all of them if too few survive
    for (const pool of [topCandidates(live, scores, topK * 16), live]) {
      const kept: SearchHit[] = [];
      for (const r of [...pool].sort(better)) {
        if (kept.length >= topK) break;
        const hit = { document_id: this.docs[this.docOf[r]].id, start: this.starts[r], end: this.ends[r], score: scores[r] };
        if (kept.some((k) => k.document_id === hit.document_id && overlap(k, hit) > 0.5)) continue;
        kept.push(hit);
      }
      if (kept.length >= topK || pool.length === live.length) return kept;
    }
    return [];
  }
}

export interface CollectionInfo {
  name: string;
  model: string;
  dimensions: number;
  documents: DocumentInfo[];
  segments: number;
  seconds: number;
  limits: SpokenIndexLimits;
}

export const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The server's collections by name, each bound to the model that embedded it. */
export class CollectionStore {
  private readonly collections = new Map<string, { model: string; index: SpokenIndex }>();

  constructor(readonly limits: StoreLimits = DEFAULT_STORE_LIMITS) {}

  static checkName(name: string): void {
    if (!COLLECTION_NAME.test(name)) throw invalidArgument('name', 'a collection name is 1-64 letters, digits, "_", "." or "-", starting with a letter or digit');
  }

  names(): string[] {
    return [...this.collections.keys()];
  }

  /** The collection, or not_found. */
  get(name: string): { model: string; index: SpokenIndex } {
    CollectionStore.checkName(name);
    const c = this.collections.get(name);
    if (!c) throw notFound(`collection "${name}" does not exist`, 'name');
    return c;
  }

  /** The collection, created for `model` if it is new (refused past maxCollections, or when another model made it). */
  open(name: string, model: string, dimensions: number): SpokenIndex {
    CollectionStore.checkName(name);
    const c = this.collections.get(name);
    if (c) {
      if (c.model !== model) throw invalidArgument('model', `collection "${name}" holds embeddings of model ${c.model}, not ${model}`);
      return c.index;
    }
    if (this.collections.size >= this.limits.maxCollections)
      throw exhausted(`the server holds ${this.collections.size} collections; the limit is ${this.limits.maxCollections} (delete one first)`);
    const index = new SpokenIndex(dimensions, this.limits);
    this.collections.set(name, { model, index });
    return index;
  }

  /**
   * What `open(name, model)` and then `add(id, seconds, segments)` would refuse, changing nothing:
   * checked before a document is embedded (then open and add run together, with no await between).
   */
  checkRoom(name: string, model: string, id: string | undefined, seconds: number, segments: number, field = 'file'): void {
    CollectionStore.checkName(name);
    const c = this.collections.get(name);
    if (c) {
      if (c.model !== model) throw invalidArgument('model', `collection "${name}" holds embeddings of model ${c.model}, not ${model}`);
      c.index.checkRoom(id, seconds, segments, field);
      return;
    }
    if (this.collections.size >= this.limits.maxCollections)
      throw exhausted(`the server holds ${this.collections.size} collections; the limit is ${this.limits.maxCollections} (delete one first)`);
    new SpokenIndex(0, this.limits).checkRoom(id, seconds, segments, field);
  }

  delete(name: string): boolean {
    CollectionStore.checkName(name);
    return this.collections.delete(name);
  }

  info(name: string): CollectionInfo {
    const { model, index } = this.get(name);
    return {
      name,
      model,
      dimensions: index.dimensions,
      documents: index.documents(),
      segments: index.segmentCount,
      seconds: Math.round(index.seconds * 1000) / 1000,
      limits: { maxDocuments: index.limits.maxDocuments, maxSegments: index.limits.maxSegments, maxSeconds: index.limits.maxSeconds },
    };
  }
}
