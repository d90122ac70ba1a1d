/**
 * Every graph of every bundled model gives the same outputs under onnxruntime-web (wasm, the
 * browser's runtime, here in Node) as under onnxruntime-node, on the same inputs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { parseManifest, type Manifest } from '../server/core/manifest.ts';
import { SeededRandom } from '../server/core/random.ts';

ortWeb.env.wasm.numThreads = 1;

const models = readdirSync(BUNDLED_MODELS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('_'))
  .map((d) => d.name)
  .filter((name) => readdirSync(path.join(BUNDLED_MODELS_DIR, name)).includes('manifest.json'));

/** Inputs from the graph's metadata: symbolic dims fixed per name, small ids for integers, seeded noise for floats. */
function inputsFor(session: ortNode.InferenceSession, manifest: Manifest): Record<string, ortNode.Tensor> {
  const random = new SeededRandom(7);
  const dims: Record<string, number> = {};
  const feeds: Record<string, ortNode.Tensor> = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) continue;
    let shape = meta.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : (dims[String(d)] ??= i === 0 ? 2 : 5)));
    if (manifest.audio && meta.name === manifest.audio.input) shape = [shape[0], manifest.audio.contextSamples + manifest.audio.chunkSamples];
    const n = shape.reduce((a, b) => a * b, 1);
    if (meta.type === 'int64') feeds[meta.name] = new ortNode.Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(1 + Math.floor(random.next() * 4))), shape);
    else feeds[meta.name] = new ortNode.Tensor('float32', Float32Array.from({ length: n }, () => 0.3 * random.gaussian()), shape);
  }
  return feeds;
}

describe('onnxruntime-web (wasm) vs onnxruntime-node', () => {
  for (const name of models) {
    it(`${name}: every graph, same outputs`, async () => {
      const dir = path.join(BUNDLED_MODELS_DIR, name);
      const manifest = parseManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
      for (const [graphName, graph] of Object.entries(manifest.graphs)) {
        const file = path.join(dir, graph.file);
        const node = await ortNode.InferenceSession.create(file);
        const web = await ortWeb.InferenceSession.create(file);
        try {
          const feeds = inputsFor(node, manifest);
          const expected = await node.run(feeds);
          const got = await web.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ortWeb.Tensor(t.type as 'float32', t.data as Float32Array, t.dims)])));
          let varying = 0; // outputs that are not constant: the comparison means something
          for (const out of node.outputNames) {
            const a = expected[out].data as Float32Array;
            const b = got[out].data as Float32Array;
            expect(got[out].dims, `${name}.${graphName}.${out}`).toEqual(expected[out].dims);
            let worst = 0;
            for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(Number(a[i]) - Number(b[i])) / (1 + Math.abs(Number(a[i]))));
            expect(worst, `${name}.${graphName}.${out}`).toBeLessThan(1e-3);
            if (new Set(Array.from(a.slice(0, 1000), Number)).size > 1) varying++;
          }
          expect(varying, `${name}.${graphName}: outputs that vary`).toBeGreaterThan(0);
        } finally {
          await node.release();
          await web.release();
        }
      }
    }, 60_000);
  }
});
