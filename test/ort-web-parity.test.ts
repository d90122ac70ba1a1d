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
import { parseManifest } from '../server/core/manifest.ts';
import { modelFilePath } from '../server/runtime/model-file-path.ts';
import { randomFeeds, webFeeds } from './helpers/graph-feeds.ts';

ortWeb.env.wasm.numThreads = 1;

const models = readdirSync(BUNDLED_MODELS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('_'))
  .map((d) => d.name)
  .filter((name) => readdirSync(path.join(BUNDLED_MODELS_DIR, name)).includes('manifest.json'));

describe('onnxruntime-web (wasm) vs onnxruntime-node', () => {
  for (const name of models) {
    it(`${name}: every graph, same outputs`, async () => {
      const dir = path.join(BUNDLED_MODELS_DIR, name);
      const manifest = parseManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
      for (const [graphName, graph] of Object.entries(manifest.graphs)) {
        const file = await modelFilePath(dir, graph.file); // a file of the folder, or an npm: reference (ppocr_rec)
        const node = await ortNode.InferenceSession.create(file);
        const web = await ortWeb.InferenceSession.create(file);
        try {
          const feeds = randomFeeds(node, manifest, { seed: 7, batch: 2, length: 5 }, graph);
          const expected = await node.run(feeds);
          const got = await web.run(webFeeds(feeds));
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
