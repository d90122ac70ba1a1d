/**
 * The generation engine: encoder once per request (requests that arrive together share one padded
 * encoder run), then decoder steps for every active sequence of every request together, one
 * batched graph call per iteration (continuous batching: sequences join after their encoder run and
 * leave when they finish, between iterations). An encoder run does not hold up the batch: it runs
 * while the decoder iterates (in parallel when the encoder's runner works off the event loop, as
 * the server's worker-thread runner does), one run at a time, and its sequences join at the next
 * iteration after it ends. Each request is an async iterator of events;
 * abandoning it (return(), or its AbortSignal) removes its rows before the next iteration, and a
 * consumer that stops reading is parked out of the batch until it reads again (backpressure).
 */
import { Tensor } from 'onnxruntime-common';
import { invalidArgument, SeqserveError } from '../errors.ts';
import { splitAlong } from '../batching/tensor-batch.ts';
import type { TensorMap } from '../graph-runner.ts';
import { beamScore, beamSearchDone, beamStep, type BeamHypothesis } from './beam-search.ts';
import { DecodeBatch, type RowData } from './decode-batch.ts';
import { chooseToken, GREEDY, logSoftmax, type SamplingParams, SeededRandom, topTokens } from './sampling.ts';
import type { Seq2SeqModel } from './seq2seq-model.ts';
import { StopStrings } from './stop-strings.ts';

/** A preprocessed image for an image encoder: [channels, height, width] float pixels. */
export interface ImageSource {
  pixels: Float32Array;
  dims: readonly [number, number, number];
}

export interface GenerateRequest {
  /** Encoder input: token ids (not empty, at most the model's maxSourceTokens), or an image. */
  source: number[] | ImageSource;
  maxNewTokens: number;
  sampling?: SamplingParams;
  seed?: number;
  /** Independent choices (sampled, or the n best beams). */
  n?: number;
  /** > 1: beam search of this width (tokens are sent when it ends). */
  beamWidth?: number;
  /** GNMT length-penalty alpha for beam search. */
  lengthPenalty?: number;
  stop?: string[];
  /** Attention over the source per generated token. */
  attention?: boolean;
  /** Alternatives per token to report with their log-probabilities. */
  topLogprobs?: number;
  /** Each token's log-probability (default true); false leaves TokenEvent.logProb NaN and saves a pass over the vocabulary per token. */
  logProbs?: boolean;
  signal?: AbortSignal;
}

export interface TokenEvent {
  type: 'token';
  choice: number;
  token: number;
  /** The token's text as the tokenizer spells it. */
  piece: string;
  /** Text released by this token (stop strings may hold text back). */
  delta: string;
  logProb: number;
  top?: { token: number; piece: string; logProb: number }[];
  attention?: number[];
}

export interface FinishEvent {
  type: 'finish';
  choice: number;
  reason: 'stop' | 'length';
  text: string;
  /** Tokens generated for this choice. */
  tokens: number;
  /** Text still held back for a stop string that did not complete. */
  delta: string;
}

export type GenerationEvent = TokenEvent | FinishEvent;

export interface EngineOptions {
  /** Most sequences decoded together; more wait for a free row. */
  maxRows: number;
  /** Most requests waiting to start; more are refused (RESOURCE_EXHAUSTED). */
  maxWaiting: number;
  /** Events buffered per request before it is parked out of the batch. */
  highWater?: number;
  /**
   * Most decoder iterations a new request waits for others to share its encoder run while the
   * batch is busy (default 4). An encoder run costs about as much as a decoder step of the whole
   * batch, and little more for several sources than for one, so under load newcomers are encoded
   * together: when `active / 8` of them wait, or when the first has waited this long. With fewer
   * than 8 active sequences a newcomer is encoded at once.
   */
  admitWait?: number;
  /** Called after each decoder iteration with its batch size. */
  onIteration?: (rows: number) => void;
  /** Called when the number of active sequences changes. */
  onActive?: (sequences: number) => void;
}

/** What one decoder iteration produced, row-major over the batch. */
interface StepOutput {
  logits: Float32Array;
  vocab: number;
  attention: Float32Array | undefined;
  /** The source length attention rows are padded to. */
  padded: number;
}

/** One generated sequence (a sampled choice or a live beam) that owns a batch row. */
interface Row {
  request: Job;
  index: number; // which of the job's rows
}

interface Choice {
  tokens: number[];
  stops: StopStrings;
  done: boolean;
  random?: SeededRandom;
}

class Job {
  readonly events: GenerationEvent[] = [];
  readonly rows: Row[] = [];
  choices: Choice[] = [];
  beams: BeamHypothesis[] = [];
  finishedBeams: BeamHypothesis[] = [];
  cancelled = false;
  /** The engine iteration at which the request started waiting. */
  queuedAt = 0;
  parked: { index: number; data: RowData }[] | undefined;
  failed: unknown;
  ended = false;
  wake: (() => void) | undefined;
  constructor(readonly req: GenerateRequest) {}

  push(e: GenerationEvent): void {
    this.events.push(e);
    this.notify();
  }

  notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

export class GenerationEngine {
  private readonly batch: DecodeBatch<Row>;
  private readonly stateAxes: Record<string, number>;
  private waiting: Job[] = [];
  /** Encoder runs in flight (at most one) and the batch rows their requests will take. */
  private encoding = 0;
  private reservedRows = 0;
  /** Encoded requests that join the batch at the start of the next iteration. */
  private encoded: { job: Job; data: RowData }[] = [];
  private wakeLoop: (() => void) | undefined;
  private running = false;
  private iteration = 0;
  private readonly highWater: number;

  constructor(
    readonly model: Seq2SeqModel,
    private readonly options: EngineOptions,
  ) {
    this.stateAxes = Object.fromEntries(Object.entries(model.states).map(([k, v]) => [k, v.batchAxis]));
    this.batch = new DecodeBatch<Row>(this.stateAxes);
    this.highWater = options.highWater ?? 64;
  }

  /** Sequences in the decoding batch now. */
  get activeSequences(): number {
    return this.batch.size;
  }

  get waitingRequests(): number {
    return this.waiting.length;
  }

  /** Starts generating; the iterator yields events until every choice has finished. */
  generate(req: GenerateRequest): AsyncIterableIterator<GenerationEvent> {
    const { spec } = this.model;
    if (Array.isArray(req.source) === Boolean(this.model.image)) throw invalidArgument('model', `this model encodes ${this.model.image ? 'images' : 'text'}`);
    if (Array.isArray(req.source)) {
      if (req.source.length === 0) throw invalidArgument('messages', 'the prompt is empty');
      if (req.source.length > spec.maxSourceTokens) throw invalidArgument('messages', `the prompt has ${req.source.length} tokens; the model accepts at most ${spec.maxSourceTokens}`);
    }
    if (this.waiting.length >= this.options.maxWaiting) throw new SeqserveError('resource_exhausted', `${this.waiting.length} requests are already waiting for this model`, { retryAfterSeconds: 1 });
    const job = new Job(req);
    job.queuedAt = this.iteration;
    this.waiting.push(job);
    const onAbort = () => this.cancel(job);
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (req.signal?.aborted) this.cancel(job);
    this.kick();
    const self = this;
    const iterator: AsyncIterableIterator<GenerationEvent> = {
      [Symbol.asyncIterator]() {
        return iterator;
      },
      async next(): Promise<IteratorResult<GenerationEvent>> {
        for (;;) {
          if (job.failed !== undefined) {
            req.signal?.removeEventListener('abort', onAbort);
            throw job.failed;
          }
          const e = job.events.shift();
          if (e) {
            if (job.parked && job.events.length < self.highWater / 2) self.unpark(job);
            return { value: e, done: false };
          }
          if (job.ended || job.cancelled) {
            req.signal?.removeEventListener('abort', onAbort);
            if (job.cancelled && !job.ended) throw new SeqserveError('cancelled', 'the request was cancelled');
            return { value: undefined, done: true };
          }
          if (job.parked) self.unpark(job);
          await new Promise<void>((resolve) => (job.wake = resolve));
        }
      },
      async return(): Promise<IteratorResult<GenerationEvent>> {
        self.cancel(job);
        req.signal?.removeEventListener('abort', onAbort);
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }

  private cancel(job: Job): void {
    if (job.ended) return;
    job.cancelled = true;
    this.waiting = this.waiting.filter((j) => j !== job);
    job.parked = undefined;
    job.notify();
    this.kick();
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.waiting.length > 0 || this.batch.size > 0) this.kick();
    });
  }

  private async loop(): Promise<void> {
    await Promise.resolve(); // requests made in the same tick start together
    while (this.waiting.length > 0 || this.batch.size > 0 || this.encoding > 0 || this.encoded.length > 0) {
      this.dropCancelled();
      this.joinEncoded();
      if (this.admitNow()) this.admit();
      if (this.batch.size === 0) {
        if (this.encoding > 0) await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        else if (this.waiting.length === 0 && this.encoded.length === 0) break;
        continue;
      }
      await this.step();
    }
  }

  /** Adds the rows of requests whose encoder run has ended (between iterations only). */
  private joinEncoded(): void {
    for (const { job, data } of this.encoded.splice(0)) if (!job.cancelled) this.start(job, data);
  }

  /** Whether to encode waiting requests before this iteration (see EngineOptions.admitWait). */
  private admitNow(): boolean {
    if (this.waiting.length === 0) return false;
    if (this.batch.size === 0 || this.waiting.some((j) => j.parked)) return true; // parked jobs need no encoder run
    if (this.waiting.length >= Math.max(1, Math.floor(this.batch.size / 8))) return true;
    return this.iteration - this.waiting[0].queuedAt >= (this.options.admitWait ?? 4);
  }

  private dropCancelled(): void {
    for (let r = this.batch.size - 1; r >= 0; r--) {
      if (this.batch.owner(r).request.cancelled) this.removeRow(r);
    }
  }

  private removeRow(r: number): void {
    const row = this.batch.owner(r);
    row.request.rows.splice(row.request.rows.indexOf(row), 1);
    this.batch.remove(r);
    this.options.onActive?.(this.batch.size);
  }

  /**
   * Rejoins parked requests, and starts one encoder run for the waiting requests that fit (unless
   * one is in flight); their rows are reserved until the run ends.
   */
  private admit(): void {
    const free = this.options.maxRows - this.batch.size - this.reservedRows;
    const jobs: Job[] = [];
    let rows = 0;
    while (this.waiting.length > 0) {
      const job = this.waiting[0];
      if (!job.parked && this.encoding > 0) break;
      const need = job.parked ? job.parked.length : this.rowsOf(job.req);
      if (rows + need > free && (jobs.length > 0 || this.batch.size > 0 || this.reservedRows > 0)) break;
      this.waiting.shift();
      if (job.parked) {
        const parked = job.parked;
        job.parked = undefined;
        for (const p of parked) this.addRow(job, p.data, p.index);
        continue;
      }
      jobs.push(job);
      rows += need;
    }
    if (jobs.length === 0) return;
    this.encoding++;
    this.reservedRows += rows;
    void this.encodeJobs(jobs).finally(() => {
      this.encoding--;
      this.reservedRows -= rows;
      const wake = this.wakeLoop;
      this.wakeLoop = undefined;
      wake?.();
      this.kick();
    });
  }

  /** One padded encoder run for `jobs`; if it fails, each request alone, so only those that trip the runtime fail. */
  private async encodeJobs(jobs: Job[]): Promise<void> {
    let encoded: RowData[];
    try {
      encoded = await this.encode(jobs.map((j) => j.req.source));
    } catch (err) {
      if (jobs.length === 1) return this.fail(jobs[0], err);
      for (const job of jobs) {
        try {
          const [alone] = await this.encode([job.req.source]);
          this.encoded.push({ job, data: alone });
        } catch (own) {
          this.fail(job, own);
        }
      }
      return;
    }
    jobs.forEach((job, i) => this.encoded.push({ job, data: encoded[i] }));
  }

  private rowsOf(req: GenerateRequest): number {
    return (req.beamWidth ?? 1) > 1 ? req.beamWidth! : (req.n ?? 1);
  }

  private start(job: Job, data: RowData): void {
    const req = job.req;
    if ((req.beamWidth ?? 1) > 1) {
      // a row per beam from the start; rows beyond the live beams are carried along and ignored
      job.beams = [{ tokens: [], logProb: 0, tokenLogProbs: [], finished: false }];
      for (let i = 0; i < req.beamWidth!; i++) this.addRow(job, data);
      return;
    }
    const n = req.n ?? 1;
    for (let i = 0; i < n; i++) {
      job.choices.push({ tokens: [], stops: new StopStrings(req.stop ?? []), done: false, ...(req.seed !== undefined || (req.sampling?.temperature ?? 0) > 0 ? { random: new SeededRandom((req.seed ?? Math.floor(Math.random() * 2 ** 31)) + i * 7919) } : {}) });
      this.addRow(job, data);
    }
  }

  private addRow(job: Job, data: RowData, index = job.rows.length): void {
    const row: Row = { request: job, index };
    job.rows.push(row);
    this.batch.add(row, data);
    this.options.onActive?.(this.batch.size);
  }

  /** The encoder's input for several sources: padded token ids, or stacked images (all of one size). */
  private encoderInput(sources: (number[] | ImageSource)[]): Tensor {
    const { spec } = this.model;
    if (sources.every((s) => Array.isArray(s))) {
      const S = Math.max(...sources.map((s) => s.length));
      const ids = new BigInt64Array(sources.length * S).fill(BigInt(spec.pad));
      sources.forEach((s, i) => s.forEach((t, j) => (ids[i * S + j] = BigInt(t))));
      return new Tensor('int64', ids, [sources.length, S]);
    }
    const images = sources as ImageSource[];
    const dims = images[0].dims;
    const size = dims[0] * dims[1] * dims[2];
    const pixels = new Float32Array(images.length * size);
    images.forEach((img, i) => {
      if (img.pixels.length !== size || img.dims.some((d, j) => d !== dims[j])) throw invalidArgument('image', `images in one encoder run must all be ${dims.join('x')}`);
      pixels.set(img.pixels, i * size);
    });
    return new Tensor('float32', pixels, [images.length, ...dims]);
  }

  /** One padded encoder run for several sources; returns each one's memory and initial state. */
  private async encode(sources: (number[] | ImageSource)[]): Promise<RowData[]> {
    const { spec, encoder } = this.model;
    const input = this.encoderInput(sources);
    const out = await encoder.run({ [spec.encoder.input]: input });
    // memory rows are as long as their source (tokens), or the encoder's output length (image regions)
    const S = Array.isArray(sources[0]) ? input.dims[1] : out[spec.encoder.memory[0]].dims[1];
    // each initial state split into one batch-1 tensor per source
    const initial = Object.entries(spec.encoder.initialStates).map(([input, output]) => ({
      input,
      rows: splitAlong(out[output], this.model.states[input].batchAxis, sources.map(() => 1)),
    }));
    return sources.map((s, i) => {
      const length = Array.isArray(s) ? s.length : S;
      const memory: TensorMap = {};
      for (const name of spec.encoder.memory) {
        const t = out[name];
        const inner = t.dims.slice(2).reduce((a, b) => a * b, 1);
        const data = (t.data as Float32Array).slice(i * S * inner, (i * S + length) * inner);
        memory[name] = new Tensor('float32', data, [1, length, ...t.dims.slice(2)]);
      }
      const states: TensorMap = Object.fromEntries(initial.map(({ input, rows }) => [input, rows[i]]));
      return { memory, states };
    });
  }

  private async step(): Promise<void> {
    this.iteration++;
    const { spec, decoder } = this.model;
    const n = this.batch.size;
    const prev = new BigInt64Array(n);
    for (let r = 0; r < n; r++) prev[r] = BigInt(this.lastToken(this.batch.owner(r)));
    let out: TensorMap;
    try {
      out = await decoder.run({ [spec.decoder.prevToken]: new Tensor('int64', prev, [n]), ...this.batch.feeds() });
    } catch (err) {
      await this.isolateFault(err);
      return;
    }
    this.options.onIteration?.(n);
    this.batch.updateStates(Object.fromEntries(Object.entries(this.model.states).map(([input, s]) => [input, out[s.output]])));
    const logits = out[spec.decoder.logits];
    const step: StepOutput = {
      logits: logits.data as Float32Array,
      vocab: logits.dims[1],
      attention: spec.decoder.attention ? (out[spec.decoder.attention].data as Float32Array) : undefined,
      padded: this.batch.paddedLength,
    };
    const byJob = this.rowsByJob();
    const remove: number[] = [];
    for (const [job, rows] of byJob) {
      if (job.cancelled) {
        remove.push(...rows);
        continue;
      }
      if (job.beams.length > 0) this.beamIteration(job, rows, step, remove);
      else this.sampleIteration(job, rows, step, remove);
    }
    for (const r of remove.sort((a, b) => b - a)) this.removeRow(r);
    for (const job of byJob.keys()) {
      if (!job.ended && !job.cancelled && job.rows.length > 0 && job.events.length >= this.highWater) this.park(job);
    }
  }

  private lastToken(row: Row): number {
    const job = row.request;
    if (job.beams.length > 0) {
      const t = job.beams[row.index]?.tokens;
      return t && t.length ? t[t.length - 1] : this.model.spec.bos;
    }
    const t = job.choices[row.index].tokens;
    return t.length ? t[t.length - 1] : this.model.spec.bos;
  }

  /** Sampling/greedy: one token per live choice; adds the rows that finished to `remove`. */
  private sampleIteration(job: Job, rows: number[], step: StepOutput, remove: number[]): void {
    const { spec, tokenizer } = this.model;
    const req = job.req;
    const { vocab, logits, attention, padded } = step;
    for (const r of rows) {
      const index = this.batch.owner(r).index;
      const choice = job.choices[index];
      const picked = chooseToken(logits.subarray(r * vocab, (r + 1) * vocab), req.sampling ?? GREEDY, choice.tokens, choice.random, Boolean(req.topLogprobs), req.logProbs ?? true);
      if (picked.token === spec.eos) {
        this.finishChoice(job, index, 'stop');
        remove.push(r);
        continue;
      }
      choice.tokens.push(picked.token);
      const delta = choice.stops.update(tokenizer.decode(choice.tokens));
      const event: TokenEvent = { type: 'token', choice: index, token: picked.token, piece: tokenizer.piece(picked.token), delta, logProb: picked.logProb };
      if (req.topLogprobs && picked.logProbs) event.top = topTokens(picked.logProbs, req.topLogprobs).map((t) => ({ ...t, piece: tokenizer.piece(t.token) }));
      if (req.attention && attention) event.attention = Array.from(attention.subarray(r * padded, r * padded + this.batch.sourceLength(r)));
      job.push(event);
      if (choice.stops.stopped || choice.tokens.length >= req.maxNewTokens) {
        this.finishChoice(job, index, choice.stops.stopped ? 'stop' : 'length');
        remove.push(r);
      }
    }
    if (job.choices.every((c) => c.done)) this.end(job);
  }

  private finishChoice(job: Job, index: number, reason: 'stop' | 'length'): void {
    const choice = job.choices[index];
    choice.done = true;
    job.push({ type: 'finish', choice: index, reason, text: choice.stops.finalText(), tokens: choice.tokens.length, delta: choice.stops.flush() });
  }

  /** Beam search: one beam step over the job's rows; reorders their states; adds the rows of a finished search to `remove`. */
  private beamIteration(job: Job, rows: number[], step: StepOutput, remove: number[]): void {
    const req = job.req;
    const width = req.beamWidth!;
    const alpha = req.lengthPenalty ?? 0.6;
    const { logits, vocab } = step;
    const rowOfBeam = rows.slice().sort((a, b) => this.batch.owner(a).index - this.batch.owner(b).index);
    const result = beamStep(job.beams, rowOfBeam.map((r) => logSoftmax(logits.subarray(r * vocab, (r + 1) * vocab))), width, this.model.spec.eos, req.maxNewTokens);
    job.finishedBeams.push(...result.finished);
    job.beams = result.live.map((l) => l.hypothesis);
    if (beamSearchDone(job.finishedBeams, job.beams, width, alpha, req.maxNewTokens)) {
      remove.push(...rows);
      this.finishBeams(job, alpha);
      return;
    }
    // beam i continues the state of its parent's row
    const live = result.live.length;
    this.batch.reorderStates(rowOfBeam.slice(0, live), result.live.map((l) => rowOfBeam[l.parent]));
  }

  private finishBeams(job: Job, alpha: number): void {
    const { tokenizer } = this.model;
    const n = job.req.n ?? 1;
    const ranked = [...job.finishedBeams, ...job.beams].sort((a, b) => beamScore(b, alpha) - beamScore(a, alpha)).slice(0, n);
    ranked.forEach((h, choice) => {
      const stops = new StopStrings(job.req.stop ?? []);
      const tokens: number[] = [];
      let reason: 'stop' | 'length' = h.tokens.length >= job.req.maxNewTokens ? 'length' : 'stop';
      for (let i = 0; i < h.tokens.length && !stops.stopped; i++) {
        tokens.push(h.tokens[i]);
        const delta = stops.update(tokenizer.decode(tokens));
        job.push({ type: 'token', choice, token: h.tokens[i], piece: tokenizer.piece(h.tokens[i]), delta, logProb: h.tokenLogProbs[i] });
      }
      if (stops.stopped) reason = 'stop';
      job.push({ type: 'finish', choice, reason, text: stops.finalText(), tokens: tokens.length, delta: stops.flush() });
    });
    job.beams = [];
    job.finishedBeams = [];
    job.choices = [];
    this.end(job);
  }

  /**
   * A batched decoder step failed. Each request's rows are run alone to find the requests whose own
   * input trips the runtime: those fail, the others stay in the batch, and the next iteration runs
   * their step again (their states were not updated). If no request fails alone, all of them fail.
   */
  private async isolateFault(err: unknown): Promise<void> {
    const { spec, decoder } = this.model;
    const rowsOf = this.rowsByJob();
    if (rowsOf.size === 1) return this.fail([...rowsOf.keys()][0], err);
    let failed = 0;
    for (const [job, rows] of rowsOf) {
      const probe = new DecodeBatch<Row>(this.stateAxes, rows.length);
      for (const r of rows) probe.add(this.batch.owner(r), this.batch.extract(r));
      const prev = BigInt64Array.from(rows, (r) => BigInt(this.lastToken(this.batch.owner(r))));
      try {
        await decoder.run({ [spec.decoder.prevToken]: new Tensor('int64', prev, [rows.length]), ...probe.feeds() });
      } catch (own) {
        this.fail(job, own);
        failed++;
      }
    }
    if (failed === 0) for (const job of rowsOf.keys()) this.fail(job, err);
  }

  /** The rows of each job in the batch now, in batch order. */
  private rowsByJob(): Map<Job, number[]> {
    const byJob = new Map<Job, number[]>();
    for (let r = 0; r < this.batch.size; r++) {
      const job = this.batch.owner(r).request;
      const rows = byJob.get(job);
      if (rows) rows.push(r);
      else byJob.set(job, [r]);
    }
    return byJob;
  }

  private end(job: Job): void {
    job.ended = true;
    job.notify();
  }

  private fail(job: Job, err: unknown): void {
    job.failed = err;
    job.cancelled = true;
    job.notify();
  }

  /** Takes a job whose consumer is not reading out of the batch, keeping its rows' data. */
  private park(job: Job): void {
    const rows: number[] = [];
    for (let r = 0; r < this.batch.size; r++) if (this.batch.owner(r).request === job) rows.push(r);
    job.parked = rows.map((r) => ({ index: this.batch.owner(r).index, data: this.batch.extract(r) }));
    for (const r of rows.sort((a, b) => b - a)) this.removeRow(r);
  }

  private unpark(job: Job): void {
    if (!job.parked || this.waiting.includes(job)) return;
    this.waiting.unshift(job);
    this.kick();
  }
}
