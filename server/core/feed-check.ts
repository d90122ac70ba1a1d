/**
 * Checks a feed map against a graph's input signature before any runtime call. onnxruntime-node
 * aborts the whole process (no JS exception) on some inputs it should refuse, a tensor with an
 * axis of length 0 first of all, and answers others with raw messages ("Input initial_h must have
 * shape {1,2,12}"); every runner (server, worker thread, browser) calls this first so a bad feed
 * is an `invalid_argument` naming the input and the axis, whoever built it. It also holds every
 * input axis to its upper bound (`axisMaximums`): a recurrent graph's memory grows with its input's
 * length, and one request of 2M tokens would need ~20 GB.
 *
 * Runtime-agnostic: no Node or onnxruntime imports, only the shapes of their values.
 */
import { SeqserveError } from './errors.ts';
import { TASK_MODULES } from '../tasks/registry.ts';
import type { GraphSpec, Manifest } from './manifest.ts';

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
  /** Axes that may be at most so long, and why (see `axisMaximums`). */
  readonly maximums?: readonly AxisMaximum[];
}

/** An input axis that must be at least `length` long: shorter, the graph would make an empty tensor inside. */
export interface AxisMinimum {
  readonly input: string;
  readonly axis: number;
  readonly length: number;
  /** Where the minimum comes from, for the message: `audio.contextSamples + audio.frameSamples`. */
  readonly why: string;
}

/** An input axis that may be at most `length` long. */
export interface AxisMaximum {
  readonly input: string;
  readonly axis: number;
  readonly length: number;
  /** Where the bound comes from, for the message: `generation.maxSourceTokens of model chat`. */
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
export type ValueMetadataLike =
  { readonly name: string; readonly isTensor: false } | { readonly name: string; readonly isTensor: true; readonly type: string; readonly shape: ReadonlyArray<number | string> };

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
  return [
    { input: input.name, axis: input.shape.length - 1, length: audio.contextSamples + audio.frameSamples, why: 'audio.contextSamples + audio.frameSamples: one output frame' },
  ];
}

/**
 * The server's default bound of a symbolic axis (`--max-axis-length`). Memory grows with the product
 * of a recurrent graph's batch and length: for a graph like the bundled chat encoder (bidirectional
 * GRU, 256 units, ~10 KB per token in ONNX Runtime) a [128, 128] request peaks at ~0.3 GB answered
 * in binary and ~1.4 GB in JSON (measured through the server); [256, 256] at ~1.2 GB / ~4.5 GB.
 */
export const DEFAULT_MAX_AXIS_LENGTH = 128;

/** What bounds input axes besides the manifest: how the server (or the browser) runs the task graphs. */
export interface BoundOptions {
  /**
   * Bound of every symbolic axis that neither the manifest nor the task bounds (the server's
   * `--max-axis-length`); undefined or 0: none.
   */
  maxAxisLength?: number;
  /** Most sequences a generation model decodes together (the generation engine's rows). */
  decoderRows?: number;
  /** Most stream steps batched into one run of a streaming acoustic graph. */
  streamBatch?: number;
}

/** The manifest sections that bound a graph's inputs. */
export type BoundsManifest = Partial<
  Pick<Manifest, 'task' | 'graphs' | 'text' | 'audio' | 'audioEmbedding' | 'image' | 'video' | 'generation' | 'memory' | 'textLine' | 'endpointing'>
>;

/** What a task module is told to say the bounds of a graph's inputs that its own feeds never exceed. */
export interface TaskBoundsContext {
  model: string;
  spec: GraphSpec;
  manifest: BoundsManifest;
  inputs: readonly InputSignature[];
  options: BoundOptions;
  /** Bounds axis `axis` (-1: the last) of input `name` by `length` (undefined: no bound), saying why; the smaller of two bounds holds. */
  add(name: string, axis: number, length: number | undefined, why: string): void;
}

/**
 * The upper bound of each input axis of graph `graphName` of model `model`, and the manifest's
 * mistakes about them (`problems`, each `graphs.<g>.maxShapes...: reason`). Per axis, the first of:
 *
 * 1. the manifest's `graphs.<g>.maxShapes` (`{ input: [bound per axis, null = unbounded] }`);
 * 2. the bound the task implies, from how its endpoints feed the graph (and never more than they
 *    feed): a chat/caption encoder's tokens ≤ `generation.maxSourceTokens` and its batch ≤ the
 *    requests encoded together, a decoder step's batch ≤ the sequences decoded together and its
 *    memory ≤ the source length, a streaming acoustic graph's samples ≤ one chunk with its context
 *    and its batch ≤ the streams batched together, a tagger's tokens ≤ `text.maxTokens`, a memory
 *    network's story and question ≤ `memory.maxSentences` / `maxWords`;
 * 3. `options.maxAxisLength` for any other symbolic axis.
 *
 * A manifest bound below the task's is a problem (the task's own requests would be refused), as is
 * one for an input the graph lacks, of the wrong rank, or below a fixed dimension.
 */
export function axisMaximums(
  model: string,
  graphName: string,
  manifest: BoundsManifest,
  inputs: readonly InputSignature[],
  options: BoundOptions = {},
): { maximums: AxisMaximum[]; problems: string[] } {
  const task = taskMaximums(model, graphName, manifest, inputs, options);
  const taskBound = (input: string, axis: number) => task.find((m) => m.input === input && m.axis === axis);
  const own = manifest.graphs?.[graphName]?.maxShapes ?? {};
  const field = `graphs.${graphName}.maxShapes`;
  const problems: string[] = [];
  for (const [name, bounds] of Object.entries(own)) {
    const input = inputs.find((i) => i.name === name);
    if (!input) {
      problems.push(`${field}: graph "${graphName}" has no input "${name}" (inputs: ${inputs.map((i) => i.name).join(', ')})`);
      continue;
    }
    if (bounds.length !== input.shape.length) {
      problems.push(
        `${field}.${name}: ${plural(bounds.length, 'bound')} for an input of rank ${input.shape.length} ([${input.shape.join(', ')}]); give one per axis (null: unbounded)`,
      );
      continue;
    }
    bounds.forEach((b, axis) => {
      if (b === null) return;
      const fixed = input.shape[axis];
      if (fixed >= 0 && b < fixed) problems.push(`${field}.${name}[${axis}]: ${b} is below the graph's fixed dimension ${fixed}`);
      const t = taskBound(name, axis);
      if (t && b < t.length) problems.push(`${field}.${name}[${axis}]: ${b} is below what the ${manifest.task} endpoints feed, ${t.length} (${t.why})`);
    });
  }
  const maximums: AxisMaximum[] = [];
  for (const input of inputs) {
    const bounds = Object.hasOwn(own, input.name) && own[input.name].length === input.shape.length ? own[input.name] : undefined;
    input.shape.forEach((d, axis) => {
      if (bounds) {
        const b = bounds[axis];
        if (b !== null && !(d >= 0 && b >= d)) maximums.push({ input: input.name, axis, length: b, why: `${field} of model ${model}` });
        return;
      }
      if (d >= 0) return; // fixed: checked as such
      const t = taskBound(input.name, axis);
      if (t) maximums.push(t);
      else if (options.maxAxisLength) {
        maximums.push({
          input: input.name,
          axis,
          length: options.maxAxisLength,
          why: `--max-axis-length, the server's bound on a symbolic axis; ${field} in model ${model}'s manifest sets the graph's own`,
        });
      }
    });
  }
  return { maximums, problems };
}

/** The bounds of axis 2 of `axisMaximums`: what the task's own feeds never exceed. Symbolic axes only. */
function taskMaximums(model: string, graphName: string, manifest: BoundsManifest, inputs: readonly InputSignature[], options: BoundOptions): AxisMaximum[] {
  const spec = manifest.graphs?.[graphName];
  if (!spec) return [];
  const bounds = new Map<string, AxisMaximum>();
  /** `axis` -1 is the last axis; the smaller of two bounds of an axis holds. */
  const add = (name: string, axis: number, length: number | undefined, why: string) => {
    const input = inputs.find((i) => i.name === name);
    if (!input || length === undefined) return;
    const a = axis < 0 ? input.shape.length + axis : axis;
    if (a < 0 || a >= input.shape.length || input.shape[a] >= 0) return;
    const key = `${name}#${a}`;
    const known = bounds.get(key);
    if (!known || length < known.length) bounds.set(key, { input: name, axis: a, length, why });
  };
  // what each task feeds its graphs is the task module's to say
  TASK_MODULES.find((t) => t.name === manifest.task)?.axisBounds?.({ model, spec, manifest, inputs, options, add });
  return [...bounds.values()];
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
 * input given and no other, each with its element type and rank, every axis at least 1 (and at
 * least its minimum, at most its maximum), fixed dimensions as declared, as many elements as its
 * data holds, and the inputs that share a symbolic dimension (or the manifest's state batch axis)
 * agreeing on its length.
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
    for (const m of graph.maximums ?? []) {
      if (m.input === input.name && dims[m.axis] > m.length) fail(input.name, `${what} axis ${m.axis} has length ${dims[m.axis]}; at most ${m.length} (${m.why})`);
    }
    const n = elementCount(dims);
    if (n === undefined) fail(input.name, `${what} of shape [${dims.join(', ')}] has too many elements`);
    if (t.location === undefined || t.location === 'cpu') {
      const length = (t.data as { length?: unknown } | undefined)?.length;
      if (typeof length !== 'number') fail(input.name, `${what} has no data`);
      else if (length !== dataLength(input.type, n!))
        fail(input.name, `${what} of shape [${dims.join(', ')}] needs ${plural(dataLength(input.type, n!), 'element')} of data, not ${length}`);
    }
  }
  checkSharedDimensions(graph, feeds, fail);
}

interface Axis {
  input: string;
  axis: number;
  symbol: string | undefined;
  state: boolean;
}

/** Input axes that must agree on their length: all of one symbol, or all state batch axes (and what shares a symbol with them). */
interface SharedAxes {
  axes: readonly Axis[];
  /** For messages: the group's symbol, if any axis has one. */
  symbol: string | undefined;
  isBatch: boolean;
}

/** The groups depend only on the graph: found once per signature object. */
const sharedAxesOf = new WeakMap<GraphSignature, readonly SharedAxes[]>();

function sharedAxes(graph: GraphSignature): readonly SharedAxes[] {
  const known = sharedAxesOf.get(graph);
  if (known) return known;
  const axes: Axis[] = [];
  const stateAxis = new Map((graph.states ?? []).map((s) => [s.input, s.batchAxis]));
  for (const input of graph.inputs) {
    input.shape.forEach((_, axis) => {
      const symbol = input.dimNames?.[axis];
      const state = stateAxis.get(input.name) === axis;
      if (symbol !== undefined || state) axes.push({ input: input.name, axis, symbol, state });
    });
  }
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
  const shared = [...groups.values()].filter((g) => g.length > 1).map((g) => ({ axes: g, symbol: g.find((a) => a.symbol !== undefined)?.symbol, isBatch: g.some((a) => a.state) }));
  sharedAxesOf.set(graph, shared);
  return shared;
}

/**
 * Inputs whose dimensions have the same symbol must agree on its length; so must every state
 * input's batch axis (manifest `states[].batchAxis`) and every dimension sharing a symbol with one.
 * (Called after every input's rank was checked.)
 */
function checkSharedDimensions(graph: GraphSignature, feeds: Readonly<Record<string, FeedTensor>>, fail: (input: string | undefined, message: string) => never): void {
  for (const { axes, symbol, isBatch } of sharedAxes(graph)) {
    const first = axes[0];
    const length = (a: Axis) => feeds[a.input].dims[a.axis];
    const other = axes.find((a) => length(a) !== length(first));
    if (!other) continue;
    const dimension = isBatch ? `the batch dimension${symbol ? ` "${symbol}"` : ' of the states (manifest states[].batchAxis)'}` : `the dimension "${symbol}"`;
    const where = (a: Axis) => `"${a.input}" (axis ${a.axis} = ${length(a)})`;
    const pair = first.input === other.input ? `input ${where(first)} and its axis ${other.axis} (= ${length(other)})` : `inputs ${where(first)} and ${where(other)}`;
    fail(other.input, `${pair} share ${dimension} but disagree`);
  }
}
