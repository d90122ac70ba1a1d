/**
 * The model side of generation (vLLM's model runner): encoder runs, and decoder steps over the
 * decode batch, whose memory and states stay in place between steps. Both isolate faults with
 * runBatchOrRows: when a batched run fails, each request runs alone, so only those whose own input
 * trips the runtime fail.
 */
import { Tensor } from 'onnxruntime-common';
import { eachRow, type RowOutcome, runBatchOrRows } from '../batching/run-batch-or-rows.ts';
import type { TensorMap } from '../graph-runner.ts';
import { DecodeBatch, type RowData } from './decode-batch.ts';
import { encoderInput, encoderRows, type Source } from './encoder-batch.ts';
import type { Seq2SeqModel } from './seq2seq-model.ts';

/** What one decoder step produced, by batch row (read it before rows move). */
export class DecoderStepOutput {
  constructor(
    private readonly logitsData: Float32Array,
    readonly vocab: number,
    private readonly attentionData: Float32Array | undefined,
    /** The source length attention rows are padded to. */
    private readonly padded: number,
    private readonly rows: { sourceLength(row: number): number },
  ) {}

  logits(row: number): Float32Array {
    return this.logitsData.subarray(row * this.vocab, (row + 1) * this.vocab);
  }

  /** A copy of the row's attention over its own source (without padding); undefined when the model has none. */
  attention(row: number): number[] | undefined {
    const a = this.attentionData;
    return a && Array.from(a.subarray(row * this.padded, row * this.padded + this.rows.sourceLength(row)));
  }
}

export type DecoderStepResult = { ok: true; output: DecoderStepOutput } | { ok: false; failed: { request: number; error: unknown }[] };

export class ModelRunner<Owner> {
  /** The rows being decoded: add, remove, extract (to park) and reorder (beams) them between steps. */
  readonly batch: DecodeBatch<Owner>;
  private readonly stateAxes: Record<string, number>;
  /** Decoder state input → the output that holds its next value. */
  private readonly stateOutputs: [string, string][];
  /** The previous tokens of the step in progress, for the runs below (made once, not per step or request). */
  private prev: BigInt64Array = new BigInt64Array(0);
  private readonly decodeAll = () => this.decode(this.prev, this.batch);
  private readonly decodeRowsAlone = (rows: readonly number[]) => this.decodeAlone(this.prev, rows);
  private readonly encodeAll = (sources: readonly Source[]) => this.encodeTogether(sources);
  private readonly encodeAlone = async (source: Source) => (await this.encodeTogether([source]))[0];

  constructor(readonly model: Seq2SeqModel) {
    this.stateAxes = Object.fromEntries(Object.entries(model.states).map(([k, v]) => [k, v.batchAxis]));
    this.stateOutputs = Object.entries(model.states).map(([input, s]) => [input, s.output]);
    this.batch = new DecodeBatch<Owner>(this.stateAxes);
  }

  /** One padded encoder run for all sources (each alone if it fails): each source's row data, or its error. */
  async encode(sources: readonly Source[]): Promise<RowOutcome<RowData>[]> {
    return eachRow(await runBatchOrRows(sources, this.encodeAll, this.encodeAlone));
  }

  private async encodeTogether(sources: readonly Source[]): Promise<RowData[]> {
    const { spec, encoder } = this.model;
    const input = encoderInput(sources, spec.pad);
    return encoderRows(this.model, sources, input, await encoder.run({ [spec.encoder.input]: input }));
  }

  /**
   * One decoder step over every row, fed `prev[r]` as row r's previous token; `requests` groups the
   * rows by request. On success the rows' states are updated in place. If the batched step fails,
   * each request's rows run alone: those that fail alone fail; the others are untouched (their next
   * step runs again). If none fails alone, all fail with the batch's error.
   */
  async step(prev: BigInt64Array, requests: readonly (readonly number[])[]): Promise<DecoderStepResult> {
    const { model, batch } = this;
    this.prev = prev;
    const result = await runBatchOrRows(requests, this.decodeAll, this.decodeRowsAlone);
    if (!result.ok) {
      const failed = result.rows.flatMap((o, request) => (o.ok ? [] : [{ request, error: o.error }]));
      return { ok: false, failed: failed.length > 0 ? failed : requests.map((_, request) => ({ request, error: result.error })) };
    }
    const out = result.batch;
    const states: TensorMap = {};
    for (const [input, output] of this.stateOutputs) states[input] = out[output];
    batch.updateStates(states);
    const { logits, attention } = model.spec.decoder;
    return {
      ok: true,
      output: new DecoderStepOutput(
        out[logits].data as Float32Array,
        out[logits].dims[1],
        attention ? (out[attention].data as Float32Array) : undefined,
        batch.paddedLength,
        batch,
      ),
    };
  }

  private decode(prev: BigInt64Array, batch: DecodeBatch<Owner>): Promise<TensorMap> {
    const { spec, decoder } = this.model;
    return decoder.run({ [spec.decoder.prevToken]: new Tensor('int64', prev, [prev.length]), ...batch.feeds() });
  }

  /** The step of some rows alone (a probe for fault isolation: the batch's states are not updated). */
  private async decodeAlone(prev: BigInt64Array, rows: readonly number[]): Promise<void> {
    const probe = new DecodeBatch<Owner>(this.stateAxes, rows.length);
    for (const r of rows) probe.add(this.batch.owner(r), this.batch.extract(r));
    await this.decode(
      BigInt64Array.from(rows, (r) => prev[r]),
      probe,
    );
  }
}
