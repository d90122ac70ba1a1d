/**
 * The generation engine: encoder once per request (requests that arrive together share one padded
 * encoder run), then decoder steps for every active sequence of every request together, one
 * batched graph call per iteration (continuous batching: sequences join after their encoder run and
 * leave when they finish, between iterations). An encoder run does not hold up the batch: it runs
 * while the decoder iterates (in parallel when the encoder's runner works off the event loop, as
 * the server's worker-thread runner does), one run at a time, and its sequences join at the next
 * iteration after it ends. Each request is an async iterator of events; abandoning it (return(), or
 * its AbortSignal) removes its rows before the next iteration, and a consumer that stops reading is
 * parked out of the batch until it reads again (backpressure).
 *
 * The parts, as vLLM and transformers.js split them: generation-scheduler.ts (who joins, leaves,
 * parks), model-runner.ts (encoder runs, decoder steps, fault isolation), decoding-strategy.ts
 * (sampling-strategy.ts: logits processors then a sampler; beam-search-strategy.ts), and
 * output-processor.ts (incremental text, stop strings, finish reasons). This file only drives them.
 */
import { invalidArgument } from '../errors.ts';
import type { RowData } from './decode-batch.ts';
import { decodingStrategy, type StepRow, type StrategyModel } from './decoding-strategy.ts';
import type { Source } from './encoder-batch.ts';
import type { GenerateRequest, GenerationEvent } from './generate-request.ts';
import { GenerationJob, type JobEventHooks, jobEvents, type JobRow } from './generation-job.ts';
import { GenerationScheduler, type SchedulerOptions } from './generation-scheduler.ts';
import { type DecoderStepOutput, ModelRunner } from './model-runner.ts';
import type { Seq2SeqModel } from './seq2seq-model.ts';

export type { FinishEvent, GenerateRequest, GenerationEvent, ImageSource, SamplingParams, TokenEvent } from './generate-request.ts';

export interface EngineOptions extends SchedulerOptions {
  /** Called after each decoder iteration with its batch size. */
  onIteration?: (rows: number) => void;
  /** Called when the number of active sequences changes. */
  onActive?: (sequences: number) => void;
}

/** A request's row in one step, read from the step's output (no closure per row: this runs for every token). */
class BatchRow implements StepRow {
  readonly logits: Float32Array;

  constructor(
    readonly index: number,
    private readonly out: DecoderStepOutput,
    private readonly row: number,
  ) {
    this.logits = out.logits(row);
  }

  attention(): number[] | undefined {
    return this.out.attention(this.row);
  }
}

export class GenerationEngine {
  private readonly runner: ModelRunner<JobRow>;
  private readonly scheduler: GenerationScheduler<GenerationJob>;
  /** Encoded requests that join the batch at the start of the next iteration. */
  private encoded: { job: GenerationJob; data: RowData }[] = [];
  private wakeLoop: (() => void) | undefined;
  private running = false;
  /** Made once, not per request (each closure costs a little, and under tsx a defineProperty too). */
  private readonly strategyModel: StrategyModel;
  private readonly jobHooks: JobEventHooks = { cancel: (job) => this.cancel(job), reading: (job) => this.reading(job) };

  constructor(
    readonly model: Seq2SeqModel,
    private readonly options: EngineOptions,
  ) {
    this.runner = new ModelRunner<JobRow>(model);
    this.scheduler = new GenerationScheduler<GenerationJob>(options);
    this.strategyModel = { bos: model.spec.bos, eos: model.spec.eos, tokenizer: model.tokenizer };
  }

  /** Sequences in the decoding batch now. */
  get activeSequences(): number {
    return this.runner.batch.size;
  }

  get waitingRequests(): number {
    return this.scheduler.waitingRequests;
  }

  /** Refuses a request this model cannot take (what `generate` refuses at once). */
  validate(req: GenerateRequest): void {
    const { spec, image, video } = this.model;
    if (Array.isArray(req.source) === Boolean(image ?? video)) throw invalidArgument('model', `this model encodes ${image ? 'images' : video ? 'video clips' : 'text'}`);
    if (video && !Array.isArray(req.source) && req.source.dims.length !== 4) throw invalidArgument('model', 'this model encodes video clips, not still images');
    if (image && !Array.isArray(req.source) && req.source.dims.length !== 3) throw invalidArgument('model', 'this model encodes still images, not video clips');
    if (Array.isArray(req.source)) {
      if (req.source.length === 0) throw invalidArgument('messages', 'the prompt is empty');
      if (req.source.length > spec.maxSourceTokens)
        throw invalidArgument('messages', `the prompt has ${req.source.length} tokens; the model accepts at most ${spec.maxSourceTokens}`);
    }
  }

  /** Starts generating; the iterator yields events until every choice has finished. */
  generate(req: GenerateRequest): AsyncIterableIterator<GenerationEvent> {
    this.validate(req);
    const job = new GenerationJob(req, decodingStrategy(req, this.strategyModel));
    this.scheduler.enqueue(job);
    const events = jobEvents(job, this.jobHooks);
    this.kick();
    return events;
  }

  private cancel(job: GenerationJob): void {
    if (job.ended) return;
    job.cancelled = true;
    this.scheduler.remove(job);
    job.parked = undefined;
    job.notify();
    this.kick();
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.scheduler.waitingRequests > 0 || this.runner.batch.size > 0) this.kick();
    });
  }

  private async loop(): Promise<void> {
    await Promise.resolve(); // requests made in the same tick start together
    const { scheduler, runner } = this;
    while (scheduler.waitingRequests > 0 || runner.batch.size > 0 || scheduler.encoding || this.encoded.length > 0) {
      this.dropCancelled();
      for (const { job, data } of this.encoded.splice(0)) if (!job.cancelled) this.start(job, data);
      if (scheduler.admitNow(runner.batch.size)) this.admit();
      if (runner.batch.size === 0) {
        if (scheduler.encoding) await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        else if (scheduler.waitingRequests === 0 && this.encoded.length === 0) break;
        continue;
      }
      await this.step();
    }
  }

  private dropCancelled(): void {
    for (let r = this.runner.batch.size - 1; r >= 0; r--) {
      if (this.runner.batch.owner(r).job.cancelled) this.removeRow(r);
    }
  }

  /** Rejoins parked requests, and starts one encoder run for the newcomers the scheduler admits. */
  private admit(): void {
    const { rejoin, encode, rows } = this.scheduler.admit(this.runner.batch.size);
    for (const job of rejoin) {
      const parked = job.parked!;
      job.parked = undefined;
      for (const p of parked) this.addRow(job, p.data, p.index);
    }
    if (encode.length === 0) return;
    void this.encode(encode).finally(() => {
      this.scheduler.encoderRunEnded(rows);
      const wake = this.wakeLoop;
      this.wakeLoop = undefined;
      wake?.();
      this.kick();
    });
  }

  private async encode(jobs: GenerationJob[]): Promise<void> {
    const sources: Source[] = [];
    for (const job of jobs) sources.push(job.req.source);
    const outcomes = await this.runner.encode(sources);
    for (let i = 0; i < jobs.length; i++) {
      const o = outcomes[i];
      if (o.ok) this.encoded.push({ job: jobs[i], data: o.value });
      else jobs[i].fail(o.error);
    }
  }

  /** A row per choice or beam, all from the request's encoder output. */
  private start(job: GenerationJob, data: RowData): void {
    for (let i = 0; i < job.strategy.rows; i++) this.addRow(job, data);
  }

  private addRow(job: GenerationJob, data: RowData, index = job.rows.length): void {
    const row: JobRow = { job, index };
    job.rows.push(row);
    this.runner.batch.add(row, data);
    this.options.onActive?.(this.runner.batch.size);
  }

  private removeRow(r: number): void {
    const { batch } = this.runner;
    const row = batch.owner(r);
    row.job.rows.splice(row.job.rows.indexOf(row), 1);
    batch.remove(r);
    this.options.onActive?.(batch.size);
  }

  /** One decoder iteration: the batch's step, each request's strategy on its rows, then rows leave and slow readers park. */
  private async step(): Promise<void> {
    this.scheduler.startIteration();
    const { batch } = this.runner;
    const n = batch.size;
    const byJob = new Map<GenerationJob, number[]>();
    const prev = new BigInt64Array(n);
    for (let r = 0; r < n; r++) {
      const { job, index } = batch.owner(r);
      prev[r] = BigInt(job.strategy.lastToken(index));
      const rows = byJob.get(job);
      if (rows) rows.push(r);
      else byJob.set(job, [r]);
    }
    const result = await this.runner.step(prev, [...byJob.values()]);
    if (!result.ok) {
      const jobs = [...byJob.keys()];
      for (const { request, error } of result.failed) jobs[request].fail(error);
      return;
    }
    this.options.onIteration?.(n);
    const out = result.output;
    const remove: number[] = [];
    for (const [job, rows] of byJob) {
      if (job.cancelled) {
        remove.push(...rows);
        continue;
      }
      const rowOf: number[] = []; // the batch row of each of the job's rows, by index
      const stepRows: StepRow[] = [];
      for (const r of rows) {
        const index = batch.owner(r).index;
        rowOf[index] = r;
        stepRows.push(new BatchRow(index, out, r));
      }
      const s = job.strategy.step(stepRows);
      for (const e of s.events) job.push(e);
      if (s.reorder)
        batch.reorderStates(
          s.reorder.targets.map((i) => rowOf[i]),
          s.reorder.sources.map((i) => rowOf[i]),
        );
      if (s.done) {
        remove.push(...rows);
        job.end();
      } else for (const i of s.leave) remove.push(rowOf[i]);
    }
    for (const r of remove.sort((a, b) => b - a)) this.removeRow(r);
    for (const job of byJob.keys()) {
      if (!job.ended && !job.cancelled && job.rows.length > 0 && this.scheduler.shouldPark(job.events.length)) this.park(job);
    }
  }

  /** Takes a request whose consumer is not reading out of the batch, keeping its rows' data. */
  private park(job: GenerationJob): void {
    const { batch } = this.runner;
    const rows: number[] = [];
    for (let r = 0; r < batch.size; r++) if (batch.owner(r).job === job) rows.push(r);
    job.parked = rows.map((r) => ({ index: batch.owner(r).index, data: batch.extract(r) }));
    for (const r of rows.sort((a, b) => b - a)) this.removeRow(r);
  }

  /** The consumer of a parked request reads: it goes back in line once it has read enough. */
  private reading(job: GenerationJob): void {
    if (this.scheduler.shouldResume(job.events.length) && this.scheduler.resume(job)) this.kick();
  }
}
