import type * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-common';
import {
  axisMaximums,
  checkFeeds,
  manifestMinimums,
  signatureFromMetadata,
  type BoundOptions,
  type BoundsManifest,
  type FeedCheckOptions,
  type GraphSignature,
} from '../core/feed-check.ts';
import type { GraphRunner, TensorMap } from '../core/graph-runner.ts';
import type { GraphSpec } from '../core/manifest.ts';
import { SequenceBatcher, stateShape, type StateShape } from '../core/batching/sequence-batcher.ts';
import { invalidArgument } from '../core/errors.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { GraphSession } from './model-executor.ts';
import { RunQueue, type RunQueueOptions } from './run-queue.ts';

export interface TensorInfo {
  name: string;
  type: ort.Tensor.Type;
  /** Numbers for fixed dimensions, -1 for symbolic ones. */
  shape: number[];
  /** The symbolic name of each dimension as the graph declares it (`batch`), undefined where fixed or unnamed. */
  dimNames: (string | undefined)[];
}

function describe(meta: GraphSession['inputMetadata']): TensorInfo[] {
  return signatureFromMetadata(meta).map((t) => ({ name: t.name, type: t.type as ort.Tensor.Type, shape: [...t.shape], dimNames: [...(t.dimNames ?? [])] }));
}

/** One ONNX graph of a loaded model: its session (in an executor thread, or in this thread), tensor signature and bounded run queue. */
export class LoadedGraph implements GraphRunner {
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** What every run's feeds are checked against before they reach the session. */
  readonly signature: GraphSignature;
  /** The manifest's mistakes about the graph's axis bounds (`graphs.<g>.maxShapes...: reason`): the model must not load. */
  readonly boundProblems: readonly string[];
  private readonly queue: RunQueue;
  private sequences: SequenceBatcher | undefined;
  /** The manifest's constant inputs as tensors, added to every run's feeds. */
  readonly constants: TensorMap | undefined;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly maxBatch: number;

  constructor(
    readonly model: string,
    readonly name: string,
    /** The name KServe clients address it by: `model.graph`. */
    readonly qualifiedName: string,
    readonly spec: GraphSpec,
    readonly session: GraphSession,
    private readonly metrics: Metrics,
    queue: RunQueueOptions,
    /**
     * The model's manifest sections that imply minimum and maximum input lengths (an audio input
     * needs one frame's samples; `graphs.<g>.maxShapes`, the task's limits).
     */
    manifest: BoundsManifest = {},
    /** The server's settings that bound input axes (`--max-axis-length`, rows decoded together, ...). */
    bounds: BoundOptions = {},
  ) {
    this.inputs = describe(session.inputMetadata);
    this.outputs = describe(session.outputMetadata);
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
    const { maximums, problems } = axisMaximums(model, name, manifest, this.inputs, bounds);
    this.boundProblems = problems;
    this.signature = { name: qualifiedName, inputs: this.inputs, states: spec.states, minimums: manifestMinimums(manifest, this.inputs), maximums };
    this.queue = new RunQueue(qualifiedName, queue, (s) => metrics.queueDuration.observe({ model: qualifiedName }, s));
    this.maxBatch = bounds.streamBatch ?? 64;
    this.constants = spec.constants ? constantFeeds(qualifiedName, spec.constants, this.inputs) : undefined;
  }

  /** Whether `input` is one the server supplies (a manifest constant). */
  isConstant(input: string): boolean {
    return this.constants !== undefined && input in this.constants;
  }

  /**
   * The graph's sequence batcher (server-held state for KServe requests with `sequence_id`), made
   * on first use; refused naming the field when the graph has no states or a state cannot start at
   * zeros.
   */
  sequenceBatcher(): SequenceBatcher {
    if (this.sequences) return this.sequences;
    if (this.spec.states.length === 0)
      throw invalidArgument(
        'parameters.sequence_id',
        `${this.qualifiedName} has no states in its manifest; sequences need a graph with recurrent state (graphs.${this.name}.states)`,
      );
    const shapes: Record<string, StateShape> = {};
    for (const state of this.spec.states) {
      const shape = stateShape(
        state,
        this.inputs.find((i) => i.name === state.input),
      );
      if (typeof shape === 'string') throw invalidArgument('parameters.sequence_id', `${this.qualifiedName}: ${shape}`);
      shapes[state.input] = shape;
    }
    const settings = this.spec.sequenceBatching ?? { maxSequenceIdleMicroseconds: 60_000_000, maxSequences: 1024 };
    const maxIdleMs = settings.maxSequenceIdleMicroseconds / 1000;
    this.sequences = new SequenceBatcher(this.qualifiedName, this, this.spec.states, shapes, {
      maxIdleMs,
      maxSequences: settings.maxSequences,
      maxBatch: this.maxBatch,
      onRun: (n) => this.metrics.batchSize.observe({ model: this.qualifiedName }, n),
    });
    // idle sequences are freed even when no step comes
    this.sweeper = setInterval(() => this.sequences?.sweep(), Math.min(1000, Math.max(10, maxIdleMs / 4)));
    this.sweeper.unref();
    return this.sequences;
  }

  get queueDepth(): number {
    return this.queue.depth;
  }

  /**
   * Runs the graph; feeds that do not fit its signature are refused (invalid_argument) before the
   * session sees them, with errors naming the caller's fields when `check` maps them (KServe:
   * `inputs[2].shape`).
   */
  async run(feeds: TensorMap, outputs?: readonly string[], check?: FeedCheckOptions): Promise<TensorMap> {
    if (this.constants) feeds = { ...feeds, ...this.constants };
    checkFeeds(this.signature, feeds, check);
    return this.queue.run(async () => {
      const stop = this.metrics.inferenceDuration.startTimer({ model: this.qualifiedName });
      try {
        return await this.session.run(feeds, outputs);
      } finally {
        stop();
      }
    });
  }

  /**
   * Runs the graph once on zeros so the first real request is not slow: variable dimensions are 1
   * unless `shapes` gives an input's whole shape.
   */
  async warmUp(shapes: Record<string, number[]> = {}): Promise<void> {
    await this.run(
      warmUpFeeds(
        this.inputs.filter((i) => !this.isConstant(i.name)),
        shapes,
      ),
    );
  }

  async idle(): Promise<void> {
    await this.queue.idle();
  }

  async release(): Promise<void> {
    clearInterval(this.sweeper);
    await this.idle();
    await this.session.release();
  }
}

/** Zeros for every input: variable dimensions are 1 unless `shapes` gives an input's whole shape. */
export function warmUpFeeds(inputs: readonly TensorInfo[], shapes: Record<string, number[]> = {}): TensorMap {
  const feeds: TensorMap = {};
  for (const input of inputs) feeds[input.name] = zeros(input.type, shapes[input.name] ?? input.shape.map((d) => (d < 0 ? 1 : d)));
  return feeds;
}

/** The manifest's constants (`graphs.<g>.constants`) as rank-0 tensors of their inputs' types; a constant that is not a rank-0 numeric input is the manifest's mistake. */
export function constantFeeds(graph: string, constants: Record<string, number>, inputs: readonly Pick<TensorInfo, 'name' | 'type' | 'shape'>[]): TensorMap {
  const feeds: TensorMap = {};
  for (const [name, value] of Object.entries(constants)) {
    const input = inputs.find((i) => i.name === name);
    if (!input) throw new Error(`constants.${name}: ${graph} has no input "${name}"`);
    if (input.shape.length !== 0) throw new Error(`constants.${name}: input "${name}" of ${graph} has rank ${input.shape.length}; constants are scalars (rank 0)`);
    const t = zeros(input.type, []);
    if (input.type === 'int64') (t.data as BigInt64Array)[0] = BigInt(Math.trunc(value));
    else if (input.type === 'string' || input.type === 'bool') throw new Error(`constants.${name}: input "${name}" of ${graph} is ${input.type}; constants are numbers`);
    else (t.data as Float32Array)[0] = value;
    feeds[name] = t;
  }
  return feeds;
}

/** An ONNX Runtime session of this thread as a GraphSession (`--executors off`). */
export function inThreadSession(session: ort.InferenceSession): GraphSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    run: async (feeds, outputs) => (await (outputs ? session.run(feeds, outputs, { logSeverityLevel: 4 }) : session.run(feeds, { logSeverityLevel: 4 }))) as TensorMap,
    release: () => session.release(),
  };
}

export function zeros(type: ort.Tensor.Type, dims: number[]): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  switch (type) {
    case 'float32':
      return new Tensor('float32', new Float32Array(n), dims);
    case 'float64':
      return new Tensor('float64', new Float64Array(n), dims);
    case 'float16':
      return new Tensor('float16', new Uint16Array(n), dims);
    case 'int8':
      return new Tensor('int8', new Int8Array(n), dims);
    case 'uint8':
      return new Tensor('uint8', new Uint8Array(n), dims);
    case 'int16':
      return new Tensor('int16', new Int16Array(n), dims);
    case 'uint16':
      return new Tensor('uint16', new Uint16Array(n), dims);
    case 'int32':
      return new Tensor('int32', new Int32Array(n), dims);
    case 'uint32':
      return new Tensor('uint32', new Uint32Array(n), dims);
    case 'int64':
      return new Tensor('int64', new BigInt64Array(n), dims);
    case 'uint64':
      return new Tensor('uint64', new BigUint64Array(n), dims);
    case 'bool':
      return new Tensor('bool', new Uint8Array(n), dims);
    case 'string':
      return new Tensor('string', new Array<string>(n).fill(''), dims);
    default:
      throw new Error(`cannot make a warm-up tensor of type ${type}`);
  }
}
