import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import type { GraphRunner, TensorMap } from '../graph-runner.ts';
import { encoderInput } from './encoder-batch.ts';
import { ModelRunner } from './model-runner.ts';
import type { Seq2SeqModel } from './seq2seq-model.ts';

/**
 * Encoder: memory = the ids, h0 = 0. Decoder: logits [B, 3] = (prev, h, memory sum), attention = the
 * row's memory; h += 1. It refuses prev token 7, and (when `maxBatch` is set) batches larger than it.
 */
function fakeModel(maxBatch = Infinity): { model: Seq2SeqModel; runs: number[] } {
  const runs: number[] = [];
  const encoder: GraphRunner = {
    inputNames: ['src'],
    outputNames: ['memory', 'h0'],
    async run(feeds: TensorMap) {
      const [B, S] = feeds.src.dims;
      return { memory: new Tensor('float32', Float32Array.from(feeds.src.data as BigInt64Array, Number), [B, S, 1]), h0: new Tensor('float32', new Float32Array(B), [1, B, 1]) };
    },
  };
  const decoder: GraphRunner = {
    inputNames: ['prev', 'h_in', 'memory'],
    outputNames: ['logits', 'h_out', 'attention'],
    async run(feeds: TensorMap) {
      const B = feeds.prev.dims[0];
      const S = feeds.memory.dims[1];
      runs.push(B);
      const prev = feeds.prev.data as BigInt64Array;
      if (prev.includes(7n)) throw new Error('token 7');
      if (B > maxBatch) throw new Error('batch too large');
      const h = feeds.h_in.data as Float32Array;
      const memory = feeds.memory.data as Float32Array;
      const logits = new Float32Array(B * 3);
      for (let b = 0; b < B; b++) logits.set([Number(prev[b]), h[b], memory.subarray(b * S, (b + 1) * S).reduce((x, y) => x + y, 0)], b * 3);
      return {
        logits: new Tensor('float32', logits, [B, 3]),
        h_out: new Tensor(
          'float32',
          h.map((x) => x + 1),
          [1, B, 1],
        ),
        attention: new Tensor('float32', memory.slice(), [B, S]),
      };
    },
  };
  const spec = {
    vocab: 'vocab.json',
    tokenizer: 'spelled-words' as const,
    bos: 1,
    eos: 2,
    pad: 0,
    unk: 3,
    maxSourceTokens: 8,
    maxNewTokens: 8,
    encoder: { input: 'src', memory: ['memory'], initialStates: { h_in: 'h0' } },
    decoder: { prevToken: 'prev', logits: 'logits', attention: 'attention' },
  };
  return { model: { spec, tokenizer: undefined as never, encoder, decoder, states: { h_in: { output: 'h_out', batchAxis: 1 } } }, runs };
}

async function runnerWith(sources: number[][], maxBatch?: number) {
  const { model, runs } = fakeModel(maxBatch);
  const runner = new ModelRunner<string>(model);
  const encoded = await runner.encode(sources);
  encoded.forEach((o, i) => runner.batch.add(`r${i}`, o.ok ? o.value : (undefined as never)));
  return { runner, runs };
}

describe('encoderInput', () => {
  it('pads token ids to the longest source', () => {
    const t = encoderInput([[5], [6, 7, 8]], 0);
    expect(t.dims).toEqual([2, 3]);
    expect([...(t.data as BigInt64Array)]).toEqual([5n, 0n, 0n, 6n, 7n, 8n]);
  });
});

describe('ModelRunner', () => {
  it('steps every row at once, updating states in place; outputs are read by row, attention without padding', async () => {
    const { runner, runs } = await runnerWith([[5], [6, 4]]);
    const first = await runner.step(BigInt64Array.of(1n, 1n), [[0], [1]]);
    if (!first.ok) throw new Error('step failed');
    expect([...first.output.logits(1)]).toEqual([1, 0, 10]);
    expect(first.output.attention(0)).toEqual([5]);
    expect(first.output.attention(1)).toEqual([6, 4]);
    const second = await runner.step(BigInt64Array.of(3n, 4n), [[0], [1]]);
    expect(second.ok && [...second.output.logits(0)]).toEqual([3, 1, 5]); // h was updated
    expect(runs).toEqual([2, 2]);
  });

  it('when the batched step fails, runs each request alone: only the one that fails alone fails, states untouched', async () => {
    const { runner, runs } = await runnerWith([[5], [6], [4]]);
    const r = await runner.step(BigInt64Array.of(1n, 7n, 1n), [[0, 2], [1]]);
    expect(r).toEqual({ ok: false, failed: [{ request: 1, error: new Error('token 7') }] });
    expect(runs).toEqual([3, 2, 1]);
    const again = await runner.step(BigInt64Array.of(1n, 1n, 1n), [[0, 1, 2]]);
    expect(again.ok && [...again.output.logits(2)]).toEqual([1, 0, 4]); // h still 0: the failed step changed nothing
  });

  it('fails every request with the batch error when none fails alone', async () => {
    const { runner } = await runnerWith([[5], [6], [4]], 2);
    const r = await runner.step(BigInt64Array.of(1n, 1n, 1n), [[0, 1], [2]]);
    expect(r).toEqual({ ok: false, failed: [0, 1].map((request) => ({ request, error: new Error('batch too large') })) });
  });
});
