import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveError } from '../core/errors.ts';
import { GraphSpec, type Manifest } from '../core/manifest.ts';
import { Metrics } from '../observability/metrics.ts';
import { inThreadSession, LoadedGraph, zeros } from './loaded-graph.ts';

const MODELS = path.resolve(import.meta.dirname, '../../models');
const OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4 } as const;
const QUEUE = { maxConcurrent: 1, maxQueued: 8 };

const invalid = (pattern: RegExp) => (e: unknown) => e instanceof SeqserveError && e.code === 'invalid_argument' && pattern.test(e.message);

describe('LoadedGraph: feeds are checked before the session runs', () => {
  let encoder: LoadedGraph;
  let decoder: LoadedGraph;
  beforeAll(async () => {
    const metrics = new Metrics();
    const load = async (file: string, graph: string, spec: object) =>
      new LoadedGraph(
        'chat',
        graph,
        `chat.${graph}`,
        GraphSpec.parse(spec),
        inThreadSession(await ort.InferenceSession.create(path.join(MODELS, 'chat', file), OPTIONS)),
        metrics,
        QUEUE,
      );
    encoder = await load('encoder.onnx', 'encoder', { file: 'encoder.onnx', role: 'encoder' });
    decoder = await load('decoder.onnx', 'decoder', { file: 'decoder.onnx', role: 'decoder_step', states: [{ input: 'h_in', output: 'h_out', batchAxis: 1 }] });
  });
  afterAll(async () => {
    await encoder?.release();
    await decoder?.release();
  });

  it('keeps -1 for symbolic dimensions and their names beside', () => {
    expect(encoder.inputs).toEqual([{ name: 'src_tokens', type: 'int64', shape: [-1, -1], dimNames: ['batch', 'source'] }]);
    expect(decoder.signature.states).toEqual([{ input: 'h_in', output: 'h_out', batchAxis: 1 }]);
  });

  it('refuses an axis of length 0 (onnxruntime-node would abort the process), then still runs', async () => {
    // INT64 [1, 0] into the GRU encoder: the process used to die with "terminate called without an active exception"
    await expect(encoder.run({ src_tokens: zeros('int64', [1, 0]) })).rejects.toSatisfy(
      invalid(/^chat\.encoder: input "src_tokens" axis 1 has length 0; every axis must be at least 1$/),
    );
    await expect(encoder.run({ src_tokens: zeros('int64', [0, 3]) })).rejects.toSatisfy(invalid(/input "src_tokens" axis 0 has length 0/));
    const ok = await encoder.run({ src_tokens: new Tensor('int64', new BigInt64Array([4n, 9n]), [1, 2]) });
    expect(ok.h0.dims).toEqual([1, 1, 256]);
  });

  it('refuses decoder states whose batch disagrees with the other inputs, naming both', async () => {
    const feeds = { ...decoderFeeds(decoder, 2, 3), h_in: zeros('float32', [1, 1, 256]) };
    await expect(decoder.run(feeds)).rejects.toSatisfy(invalid(/inputs "prev_token" \(axis 0 = 2\) and "h_in" \(axis 1 = 1\) share the batch dimension "batch" but disagree/));
    const out = await decoder.run(decoderFeeds(decoder, 2, 3));
    expect(out.h_out.dims).toEqual([1, 2, 256]);
  });

  it('refuses a warm-up shape with a zero-length axis with a message', async () => {
    await expect(encoder.warmUp({ src_tokens: [1, 0] })).rejects.toSatisfy(invalid(/input "src_tokens" axis 1 has length 0/));
    await expect(encoder.warmUp()).resolves.toBeUndefined();
  });
});

describe('LoadedGraph: minimum lengths from the manifest', () => {
  it('refuses ASR audio shorter than one output frame, which would abort the process inside the graph', async () => {
    const manifest = JSON.parse(readFileSync(path.join(MODELS, 'asr', 'manifest.json'), 'utf8')) as { audio: Manifest['audio'] };
    const graph = new LoadedGraph(
      'asr',
      'acoustic',
      'asr.acoustic',
      GraphSpec.parse({ file: 'acoustic.onnx', role: 'acoustic', states: [{ input: 'state_in', output: 'state_out', batchAxis: 1 }] }),
      inThreadSession(await ort.InferenceSession.create(path.join(MODELS, 'asr', 'acoustic.onnx'), OPTIONS)),
      new Metrics(),
      QUEUE,
      manifest,
    );
    try {
      // fewer samples than one output frame sees: the front end makes 0 frames and the GRU aborts onnxruntime-node
      const least = manifest.audio!.contextSamples + manifest.audio!.frameSamples; // 1,360 for the bundled model
      await expect(graph.run({ samples: zeros('float32', [1, least - 1]), state_in: zeros('float32', [2, 1, 256]) })).rejects.toSatisfy(
        invalid(new RegExp(`input "samples" axis 1 has length ${least - 1}; the graph needs at least ${least}`)),
      );
      const out = await graph.run({ samples: zeros('float32', [1, least]), state_in: zeros('float32', [2, 1, 256]) });
      expect(out.log_probs.dims).toEqual([1, 1, 29]);
    } finally {
      await graph.release();
    }
  });
});

/** Zeros for every decoder input at this batch and source length. */
function decoderFeeds(graph: LoadedGraph, batch: number, source: number): Record<string, Tensor> {
  return Object.fromEntries(
    graph.inputs.map((t) => [
      t.name,
      zeros(
        t.type,
        t.shape.map((d, i) => (d >= 0 ? d : t.dimNames[i] === 'source' ? source : batch)),
      ),
    ]),
  );
}
