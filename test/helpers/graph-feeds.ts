import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import type { GraphSpec, Manifest } from '../../server/core/manifest.ts';
import { SeededRandom } from '../../server/core/random.ts';

/**
 * Inputs for any graph from its metadata: the first symbolic dim is `batch`, every other symbolic
 * dim `length` (one value per dim name), an audio input one streaming chunk with its context;
 * small ids (1-4) for integers, seeded noise for floats; the graph's constants as the server gives
 * them, and its warm-up shapes (batch replaced) where the manifest gives them. For comparing
 * runtimes on the same inputs.
 */
export function randomFeeds(
  session: ortNode.InferenceSession,
  manifest: Manifest,
  o: { seed: number; batch: number; length: number },
  graph?: GraphSpec,
): Record<string, ortNode.Tensor> {
  const random = new SeededRandom(o.seed);
  const dims: Record<string, number> = {};
  const feeds: Record<string, ortNode.Tensor> = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) continue;
    const constant = graph?.constants?.[meta.name];
    if (constant !== undefined) {
      feeds[meta.name] =
        meta.type === 'int64' ? new ortNode.Tensor('int64', BigInt64Array.from([BigInt(constant)]), []) : new ortNode.Tensor('float32', Float32Array.from([constant]), []);
      continue;
    }
    let shape = meta.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : (dims[String(d)] ??= i === 0 ? o.batch : o.length)));
    if (manifest.audio && meta.name === manifest.audio.input) shape = [shape[0], manifest.audio.contextSamples + manifest.audio.chunkSamples];
    const warm = graph?.warmupShapes?.[meta.name];
    if (warm) shape = warm.map((d, i) => (i === 0 && typeof meta.shape[0] !== 'number' ? shape[0] : d));
    const n = shape.reduce((a, b) => a * b, 1);
    feeds[meta.name] =
      meta.type === 'int64'
        ? new ortNode.Tensor(
            'int64',
            BigInt64Array.from({ length: n }, () => BigInt(1 + Math.floor(random.next() * 4))),
            shape,
          )
        : new ortNode.Tensor(
            'float32',
            Float32Array.from({ length: n }, () => 0.3 * random.gaussian()),
            shape,
          );
  }
  return feeds;
}

/** The same tensors for onnxruntime-web. */
export function webFeeds(feeds: Record<string, ortNode.Tensor>): Record<string, ortWeb.Tensor> {
  return Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ortWeb.Tensor(t.type as 'float32', t.data as Float32Array, t.dims)]));
}
