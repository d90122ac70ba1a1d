import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { BUNDLED_MODELS_DIR } from '../../server/config.ts';
import { parseManifest } from '../../server/core/manifest.ts';
import { tokenizeWords } from '../../server/core/text/tokenize.ts';
import { charNgramIds, Vocabulary, wordShape } from '../../server/core/text/word-features.ts';

export const SLOTS_DIR = path.join(BUNDLED_MODELS_DIR, 'slots');

export interface KServeInput {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

/** The tagger inputs of the bundled slot model for one sentence, as KServe JSON tensors. */
export function slotTaggerInputs(text: string): KServeInput[] {
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(SLOTS_DIR, 'manifest.json'), 'utf8')));
  const spec = manifest.text!;
  const vocab = new Vocabulary(JSON.parse(readFileSync(path.join(SLOTS_DIR, spec.vocabulary), 'utf8')) as string[]);
  const tokens = tokenizeWords(text);
  const T = tokens.length;
  const K = spec.charNgrams!.max;
  const ngrams = new Array<number>(T * K).fill(0);
  tokens.forEach((t, i) => charNgramIds(t.text, spec.charNgrams!).forEach((id, k) => (ngrams[i * K + k] = id)));
  return [
    { name: spec.features.words, datatype: 'INT64', shape: [1, T], data: tokens.map((t) => vocab.idOf(t.text)) },
    { name: spec.features.charNgrams!, datatype: 'INT64', shape: [1, T, K], data: ngrams },
    { name: spec.features.shapes!, datatype: 'INT64', shape: [1, T], data: tokens.map((t) => wordShape(t.text)) },
  ];
}

/** Runs the bundled tagger directly with onnxruntime-node (the reference for server outputs). */
export async function directEmissions(inputs: KServeInput[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path.join(SLOTS_DIR, 'tagger.onnx'));
  const feeds = Object.fromEntries(inputs.map((i) => [i.name, new ort.Tensor('int64', BigInt64Array.from(i.data, BigInt), i.shape)]));
  const out = await session.run(feeds);
  await session.release();
  return out.emissions.data as Float32Array;
}
