/**
 * The audio word2vec encoder gives the same vectors in the page as on the server: the core's
 * AudioEncoder over onnxruntime-web (wasm, the browser's runtime, here in Node) and over
 * onnxruntime-node, on the committed held-out sample's words (a batch of several lengths) and a
 * spoken document's candidate segments.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { decodeWav } from '../server/core/audio/decode-wav.ts';
import { AudioEncoder } from '../server/core/audio-embedding/audio-encoder.ts';
import type { GraphRunner, TensorMap } from '../server/core/graph-runner.ts';
import { parseManifest } from '../server/core/manifest.ts';

ortWeb.env.wasm.numThreads = 1;
const DIR = path.join(BUNDLED_MODELS_DIR, 'audio_word2vec');
const manifest = parseManifest(JSON.parse(readFileSync(path.join(DIR, 'manifest.json'), 'utf8')));
const sample = (f: string) => decodeWav(new Uint8Array(readFileSync(path.join(DIR, 'heldout-sample', f))));
const words = readFileSync(path.join(DIR, 'heldout-sample', 'words.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => (JSON.parse(l) as { file: string }).file);

function runner(session: ortNode.InferenceSession | ortWeb.InferenceSession, web: boolean): GraphRunner {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds: TensorMap) {
      const f = web ? Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ortWeb.Tensor(t.type as 'float32', t.data as Float32Array, t.dims)])) : feeds;
      return (await (session as ortNode.InferenceSession).run(f as Record<string, ortNode.Tensor>)) as unknown as TensorMap;
    },
  };
}

describe('audio word2vec: onnxruntime-web vs onnxruntime-node', () => {
  it("the same vectors for the sample words and a document's segments", async () => {
    const file = path.join(DIR, 'encoder.onnx');
    const node = await ortNode.InferenceSession.create(file);
    const web = await ortWeb.InferenceSession.create(file);
    try {
      const onNode = new AudioEncoder(runner(node, false), manifest.audioEmbedding!);
      const onWeb = new AudioEncoder(runner(web, true), manifest.audioEmbedding!);
      const audios = words.slice(0, 12).map(sample);
      const doc = sample('document-0.wav');
      for (const [a, b] of [
        [await onNode.embedWords(audios), await onWeb.embedWords(audios)],
        [await onNode.embedDocument(doc), await onWeb.embedDocument(doc)],
      ]) {
        expect(b.map((e) => [e.start, e.end])).toEqual(a.map((e) => [e.start, e.end]));
        let worst = 0;
        a.forEach((e, i) => e.embedding.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - b[i].embedding[j])))));
        expect(worst).toBeLessThan(1e-4);
        // the vectors differ between recordings: the comparison means something
        expect(new Set(a.map((e) => e.embedding[0].toFixed(4))).size).toBeGreaterThan(1);
      }
    } finally {
      await node.release();
      await web.release();
    }
  }, 60_000);
});
