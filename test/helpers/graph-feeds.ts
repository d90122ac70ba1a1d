import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import type { Manifest } from '../../server/core/manifest.ts';
import { SeededRandom } from '../../server/core/random.ts';

/**
 * Inputs for any graph from its metadata: the first symbolic dim is `batch`, every other symbolic
 * dim `length` (one value per dim name), an audio input one streaming chunk with its context;
 * small ids (1-4) for integers, seeded noise for floats. For comparing runtimes on the same inputs.
 */
export function randomFeeds(session: ortNode.InferenceSession, manifest: Manifest, o: { seed: number; batch: number; length: number }): Record<string, ortNode.Tensor> {
  const random = new SeededRandom(o.seed);
  const dims: Record<string, number> = {};
  const feeds: Record<string, ortNode.Tensor> = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) continue;
    let shape = meta.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : (dims[String(d)] ??= i === 0 ? o.batch : o.length)));
    if (manifest.audio && meta.name === manifest.audio.input) shape = [shape[0], manifest.audio.contextSamples + manifest.audio.chunkSamples];
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
