/**
 * Server-held state for recurrent graphs, as Triton's sequence batcher with implicit state: a
 * request names its sequence (`sequence_id`, with `sequence_start` on the first step and
 * `sequence_end` on the last); the batcher keeps the graph's declared state tensors per sequence,
 * starts them at zeros, feeds them to each step and keeps what the step returns, and frees them at
 * the end or after the sequence has been idle too long. Steps of different sequences that arrive
 * together run as one batch, stacked along each state's batch axis (the other inputs along axis 0);
 * steps of one sequence run one after another, in the order they arrived.
 *
 * The state of a sequence is its own: a step's new state is taken from its own rows of the batch's
 * outputs (split, then copied out of the batch's buffers), never from a slot another sequence used.
 */
import { Tensor } from 'onnxruntime-common';
import { invalidArgument, SeqserveError } from '../errors.ts';
import type { GraphRunner, TensorMap } from '../graph-runner.ts';
import type { StateSpec } from '../manifest.ts';
import { BatchScheduler } from './batch-scheduler.ts';

export type SequenceId = number | string;

export interface SequenceStep {
  id: SequenceId;
  start: boolean;
  end: boolean;
}

export interface SequenceBatcherOptions {
  /** Free a sequence idle (no step) this long. */
  maxIdleMs: number;
  /** Live sequences at most; a start beyond is refused with RESOURCE_EXHAUSTED. */
  maxSequences: number;
  /** Most sequences' steps in one run. */
  maxBatch: number;
  /** Batch size of each run (metrics). */
  onRun?: (rows: number) => void;
  now?: () => number;
}

/** A state input's type and shape with batch 1 (zeros start a sequence). */
export interface StateShape {
  type: Tensor.Type;
  /** The whole shape, 1 on the batch axis; every other axis fixed. */
  dims: readonly number[];
}

interface Sequence {
  state: TensorMap;
  lastUsed: number;
  /** The sequence's steps, one after another. */
  chain: Promise<unknown>;
  ended: boolean;
  /** Steps queued or running: a sequence with one is never idle. */
  inFlight: number;
}

/** Ids remembered after they expire, so a late step is told why its sequence is gone. */
const EXPIRED_MEMORY = 4096;

const label = (id: SequenceId) => (typeof id === 'string' ? `"${id}"` : String(id));
const key = (id: SequenceId) => `${typeof id}:${id}`;

export class SequenceBatcher {
  private readonly live = new Map<string, Sequence>();
  private readonly expired = new Map<string, number>();
  private readonly scheduler: BatchScheduler;
  private readonly stateInputs: ReadonlySet<string>;
  private readonly stateOutputs: ReadonlySet<string>;
  private readonly now: () => number;

  constructor(
    /** For messages: `model.graph`. */
    private readonly name: string,
    runner: GraphRunner,
    private readonly states: readonly StateSpec[],
    private readonly shapes: Readonly<Record<string, StateShape>>,
    private readonly options: SequenceBatcherOptions,
  ) {
    const batchAxes: Record<string, number> = {};
    for (const s of states) batchAxes[s.input] = batchAxes[s.output] = s.batchAxis;
    this.scheduler = new BatchScheduler(runner, { batchAxes, maxBatch: options.maxBatch, ...(options.onRun ? { onRun: options.onRun } : {}) });
    this.stateInputs = new Set(states.map((s) => s.input));
    this.stateOutputs = new Set(states.map((s) => s.output));
    this.now = options.now ?? (() => performance.now());
  }

  /** Sequences holding state now. */
  get liveSequences(): number {
    return this.live.size;
  }

  /** The state inputs the server supplies (a request must not). */
  isState(input: string): boolean {
    return this.stateInputs.has(input);
  }

  /** The state outputs (not returned unless asked for). */
  isStateOutput(output: string): boolean {
    return this.stateOutputs.has(output);
  }

  /**
   * Runs one step of a sequence: `feeds` are the graph's other inputs, each with batch 1 on axis 0.
   * Resolves to every output of the step (state outputs included).
   */
  step(step: SequenceStep, feeds: TensorMap): Promise<TensorMap> {
    try {
      return this.enqueue(step, feeds);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  private enqueue(step: SequenceStep, feeds: TensorMap): Promise<TensorMap> {
    this.sweep();
    const k = key(step.id);
    for (const [name, t] of Object.entries(feeds)) {
      if (this.stateInputs.has(name)) throw invalidArgument('inputs', `input "${name}" is state that ${this.name} holds for sequences; do not send it with sequence_id`);
      if (t.dims[0] !== 1) throw invalidArgument('inputs', `input "${name}" has batch ${t.dims[0]}; a sequence step has batch 1 (one sequence per request)`);
    }
    let sequence = this.live.get(k);
    if (step.start) {
      if (sequence && !sequence.ended)
        throw invalidArgument(
          'parameters.sequence_start',
          `sequence ${label(step.id)} of ${this.name} is already live; end it (sequence_end) before starting it again, or use another id`,
        );
      if (this.live.size >= this.options.maxSequences)
        throw new SeqserveError('resource_exhausted', `${this.name} holds ${this.live.size} live sequences, its limit; end some or retry later`, { retryAfterSeconds: 1 });
      sequence = { state: this.zeros(), lastUsed: this.now(), chain: Promise.resolve(), ended: false, inFlight: 0 };
      this.live.set(k, sequence);
      this.expired.delete(k);
    } else if (!sequence || sequence.ended) {
      const idle = this.expired.get(k);
      if (idle !== undefined)
        throw invalidArgument(
          'parameters.sequence_id',
          `sequence ${label(step.id)} of ${this.name} expired after ${Math.round(idle)} ms without a step; start it again with sequence_start`,
        );
      throw invalidArgument('parameters.sequence_id', `sequence ${label(step.id)} of ${this.name} is not live: its first step needs sequence_start`);
    }
    const own = sequence;
    own.lastUsed = this.now();
    own.inFlight++;
    if (step.end) own.ended = true; // later steps are refused at once; this one still runs after those before it
    const result = own.chain.then(async () => {
      const out = await this.scheduler.submit({ ...feeds, ...own.state });
      // the next state: this sequence's own rows, copied out of the batch's buffers
      const next: TensorMap = {};
      for (const s of this.states) next[s.input] = copy(out[s.output]);
      own.state = next;
      return out;
    });
    void result
      .catch(() => undefined)
      .then(() => {
        own.inFlight--;
        own.lastUsed = this.now();
      });
    // a failed step leaves the sequence's state as it was; the next step waits for this one either way
    own.chain = result.catch(() => undefined);
    if (step.end) void own.chain.then(() => this.live.get(k) === own && this.live.delete(k));
    return result;
  }

  /** Frees sequences idle longer than the limit, remembering their ids. */
  sweep(): void {
    const now = this.now();
    for (const [k, s] of this.live) {
      if (s.ended || s.inFlight > 0 || now - s.lastUsed <= this.options.maxIdleMs) continue;
      this.live.delete(k);
      this.expired.set(k, now - s.lastUsed);
      if (this.expired.size > EXPIRED_MEMORY) this.expired.delete(this.expired.keys().next().value as string);
    }
  }

  private zeros(): TensorMap {
    const state: TensorMap = {};
    for (const s of this.states) {
      const { type, dims } = this.shapes[s.input];
      const n = dims.reduce((a, b) => a * b, 1);
      state[s.input] = new Tensor(type, type === 'int64' ? new BigInt64Array(n) : type === 'float64' ? new Float64Array(n) : new Float32Array(n), dims);
    }
    return state;
  }
}

function copy(t: Tensor): Tensor {
  const data = t.data as Float32Array;
  return new Tensor(t.type, data.slice(), t.dims);
}

/**
 * The shape a state input starts at for one sequence: its declared shape with 1 on the batch axis;
 * undefined (with the reason) when another axis is symbolic, so zeros cannot be made.
 */
export function stateShape(spec: StateSpec, input: { type: Tensor.Type; shape: readonly number[] } | undefined): StateShape | string {
  if (!input) return `state input "${spec.input}" is not an input of the graph`;
  if (spec.batchAxis >= input.shape.length) return `state input "${spec.input}" has rank ${input.shape.length}, no axis ${spec.batchAxis}`;
  const dims = input.shape.map((d, i) => (i === spec.batchAxis ? 1 : d));
  const open = dims.findIndex((d) => d < 0);
  if (open >= 0) return `state input "${spec.input}" axis ${open} is symbolic; sequences need every axis but the batch axis fixed to start at zeros`;
  if (!['float32', 'float64', 'int64'].includes(input.type)) return `state input "${spec.input}" is ${input.type}; held state must be float32, float64 or int64`;
  return { type: input.type, dims };
}
