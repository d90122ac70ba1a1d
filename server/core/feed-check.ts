/**
 * Checks a feed map against a graph's input signature before any runtime call. onnxruntime-node
 * aborts the whole process (no JS exception) on some inputs it should refuse, a tensor with an
 * axis of length 0 first of all, and answers others with raw messages ("Input initial_h must have
 * shape {1,2,12}"); every runner (server, worker thread, browser) calls this first so a bad feed
 * is an `invalid_argument` naming the input and the axis, whoever built it.
 *
 * Runtime-agnostic: no Node or onnxruntime imports, only the shapes of their values.
 */
import { SeqserveError } from './errors.ts';
import type { Manifest } from './manifest.ts';

/** One graph input as the runtime describes it. */
export interface InputSignature {
  readonly name: string;
  /** Element type as onnxruntime names it: `float32`, `int64`, ... */
  readonly type: string;
  /** Numbers for fixed dimensions, -1 for symbolic or unknown ones. */
  readonly shape: readonly number[];
  /** The symbolic name of each dimension (`batch`, `source`), undefined where fixed or unnamed. */
  readonly dimNames?: readonly (string | undefined)[];
}

/** What the check needs to know about a graph: its name (for messages), inputs and recurrent states. */
export interface GraphSignature {
  /** For messages: `model.graph`. */
  readonly name: string;
  readonly inputs: readonly InputSignature[];
  /** The manifest's `states`: state inputs and the axis along which their batch is stacked. */
  readonly states?: readonly { readonly input: string; readonly batchAxis: number }[];
  /** Axes that need more than one element, and why (see `manifestMinimums`). */
  readonly minimums?: readonly AxisMinimum[];
}

/** An input axis that must be at least `length` long: shorter, the graph would make an empty tensor inside. */
export interface AxisMinimum {
  readonly input: string;
  readonly axis: number;
  readonly length: number;
  /** Where the minimum comes from, for the message: `audio.contextSamples + audio.frameSamples`. */
  readonly why: string;
}

/** The parts of a tensor the check reads (onnxruntime-common's Tensor has them). */
export interface FeedTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data?: unknown;
  readonly location?: string;
}

export interface FeedCheckOptions {
  /**
   * The request field an input's shape came from (KServe: `inputs[2].shape`). Errors then start
   * with it and carry it as `field`; without it they start with the graph's name and carry the
   * input's name.
   */
  field?: (input: string) => string | undefined;
}

/** The runtime's metadata of one value (onnxruntime's `InferenceSession.ValueMetadata`). */
export type ValueMetadataLike = { readonly name: string; readonly isTensor: false } | { readonly name: string; readonly isTensor: true; readonly type: string; readonly shape: ReadonlyArray<number | string> };

/**
 * The signature of inputs from the runtime's metadata: fixed dimensions as numbers, symbolic ones
 * -1 with their name kept in `dimNames`. A non-tensor input gets type `float32` and rank 0, as
 * seqserve has always described it (no bundled graph has one).
 */
export function signatureFromMetadata(meta: readonly ValueMetadataLike[]): InputSignature[] {
  return meta.map((m) => {
    if (!m.isTensor) return { name: m.name, type: 'float32', shape: [], dimNames: [] };
    return {
      name: m.name,
      type: m.type,
      shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
      dimNames: m.shape.map((d) => (typeof d === 'string' && d !== '' ? d : undefined)),
    };
  });
}

/**
 * Minimum lengths the manifest implies for a graph's inputs. A streaming acoustic graph's audio
 * input needs `contextSamples + frameSamples` samples for one output frame: with fewer, its feature
 * front end yields 0 frames and onnxruntime-node aborts the process in the recurrent layer (the
 * bundled ASR graph does for 400-719 samples, though every input axis is at least 1).
 */
export function manifestMinimums(manifest: Pick<Manifest, 'audio'>, inputs: readonly InputSignature[]): AxisMinimum[] {
  const audio = manifest.audio;
  const input = audio && inputs.find((i) => i.name === audio.input);
  if (!audio || !input || input.shape.length === 0) return [];
  return [{ input: input.name, axis: input.shape.length - 1, length: audio.contextSamples + audio.frameSamples, why: 'audio.contextSamples + audio.frameSamples: one output frame' }];
}

/** Elements in a shape, or undefined if the count is not a safe integer (overflow). */
function elementCount(dims: readonly number[]): number | undefined {
  let n = 1;
  for (const d of dims) {
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

/** The length `data` must have for `n` elements: 4-bit types pack two per byte. */
function dataLength(type: string, n: number): number {
  return type === 'int4' || type === 'uint4' ? Math.ceil(n / 2) : n;
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

/**
 * Throws `invalid_argument` unless `feeds` is a complete, consistent feed of the graph: every
 * input given and no other, each with its element type and rank, every axis at least 1, fixed
 * dimensions as declared, as many elements as its data holds, and the inputs that share a
 * symbolic dimension (or the manifest's state batch axis) agreeing on its length.
 */
export function checkFeeds(graph: GraphSignature, feeds: Readonly<Record<string, FeedTensor>>, options: FeedCheckOptions = {}): void {
  const fail = (input: string | undefined, message: string): never => {
    const field = input === undefined ? undefined : options.field?.(input);
    throw new SeqserveError('invalid_argument', `${field ?? graph.name}: ${message}`, { field: field ?? input ?? 'inputs' });
  };
  const names = graph.inputs.map((i) => i.name);
  for (const name of Object.keys(feeds)) {
    if (!names.includes(name)) fail(name, `"${name}" is not an input of ${graph.name} (inputs: ${names.join(', ')})`);
  }
  const missing = names.filter((n) => feeds[n] === undefined);
  if (missing.length) fail(missing[0], `missing input(s) ${missing.join(', ')} of ${graph.name}`);

  for (const input of graph.inputs) {
    const t = feeds[input.name];
    const what = `input "${input.name}"`;
    if (t === null || typeof t !== 'object') fail(input.name, `${what} is not a tensor`);
    if (t.type !== input.type) fail(input.name, `${what} takes ${input.type}, not ${String(t.type)}`);
    const dims = t.dims;
    if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(input.name, `${what} has dims that are not non-negative integers`);
    if (dims.length !== input.shape.length) fail(input.name, `${what} has rank ${input.shape.length} ([${input.shape.join(', ')}]), not ${dims.length}`);
    dims.forEach((d, axis) => {
      if (d === 0) fail(input.name, `${what} axis ${axis} has length 0; every axis must be at least 1`);
    });
    input.shape.forEach((d, axis) => {
      if (d >= 0 && dims[axis] !== d) fail(input.name, `dimension ${axis} of ${what} must be ${d}, not ${dims[axis]}`);
    });
    for (const m of graph.minimums ?? []) {
      if (m.input === input.name && dims[m.axis] < m.length) fail(input.name, `${what} axis ${m.axis} has length ${dims[m.axis]}; the graph needs at least ${m.length} (${m.why})`);
    }
    const n = elementCount(dims);
    if (n === undefined) fail(input.name, `${what} of shape [${dims.join(', ')}] has too many elements`);
    if (t.location === undefined || t.location === 'cpu') {
      const length = (t.data as { length?: unknown } | undefined)?.length;
      if (typeof length !== 'number') fail(input.name, `${what} has no data`);
      else if (length !== dataLength(input.type, n!)) fail(input.name, `${what} of shape [${dims.join(', ')}] needs ${plural(dataLength(input.type, n!), 'element')} of data, not ${length}`);
    }
  }
  checkSharedDimensions(graph, feeds, fail);
}

interface Axis {
  input: string;
  axis: number;
  length: number;
  symbol: string | undefined;
  state: boolean;
}

/**
 * Inputs whose dimensions have the same symbol must agree on its length; so must every state
 * input's batch axis (manifest `states[].batchAxis`) and every dimension sharing a symbol with one.
 */
function checkSharedDimensions(graph: GraphSignature, feeds: Readonly<Record<string, FeedTensor>>, fail: (input: string | undefined, message: string) => never): void {
  const axes: Axis[] = [];
  const stateAxis = new Map((graph.states ?? []).map((s) => [s.input, s.batchAxis]));
  for (const input of graph.inputs) {
    const dims = feeds[input.name].dims;
    dims.forEach((length, axis) => {
      const symbol = input.dimNames?.[axis];
      const state = stateAxis.get(input.name) === axis;
      if (symbol !== undefined || state) axes.push({ input: input.name, axis, length, symbol, state });
    });
  }
  if (axes.length < 2) return;
  // union-find over the axes: same symbol, or both a state's batch axis
  const parent = axes.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const join = (a: number, b: number) => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  const firstWithSymbol = new Map<string, number>();
  let firstState: number | undefined;
  axes.forEach((a, i) => {
    if (a.symbol !== undefined) {
      const j = firstWithSymbol.get(a.symbol);
      if (j === undefined) firstWithSymbol.set(a.symbol, i);
      else join(i, j);
    }
    if (a.state) {
      if (firstState === undefined) firstState = i;
      else join(i, firstState);
    }
  });
  const groups = new Map<number, Axis[]>();
  axes.forEach((a, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), a]);
  });
  for (const group of groups.values()) {
    const first = group[0];
    const other = group.find((a) => a.length !== first.length);
    if (!other) continue;
    const symbol = first.symbol ?? group.find((a) => a.symbol !== undefined)?.symbol;
    const isBatch = group.some((a) => a.state);
    const dimension = isBatch ? `the batch dimension${symbol ? ` "${symbol}"` : ' of the states (manifest states[].batchAxis)'}` : `the dimension "${symbol}"`;
    const where = (a: Axis) => `"${a.input}" (axis ${a.axis} = ${a.length})`;
    const pair = first.input === other.input ? `input ${where(first)} and its axis ${other.axis} (= ${other.length})` : `inputs ${where(first)} and ${where(other)}`;
    fail(other.input, `${pair} share ${dimension} but disagree`);
  }
}
