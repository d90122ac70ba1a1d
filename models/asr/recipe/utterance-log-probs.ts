/**
 * A recognizer folder's manifest (parsed with seqserve's schema, so its defaults apply) and the
 * acoustic graph's per-frame log-probabilities for a folder of utterances (`transcripts.jsonl` +
 * WAVs), each utterance whole in one run with the server's dither and chunk padding: what
 * tune-decoder.ts scores decoders on and `BENCH_ONLY=decoders` times them on.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeWav } from '../../../server/core/audio/decode-wav.ts';
import { type Manifest, parseManifest } from '../../../server/core/manifest.ts';
import { wholeUtterance } from '../../../server/core/speech/recognizer-stream.ts';

export interface Utterance {
  text: string;
  logProbs: Float32Array;
  frames: number;
  seconds: number;
}

export type RecognizerManifest = Manifest & { audio: NonNullable<Manifest['audio']>; decoding: Extract<NonNullable<Manifest['decoding']>, { kind: 'ctc' }> };

export function readRecognizerManifest(modelDir: string): RecognizerManifest {
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(modelDir, 'manifest.json'), 'utf8')));
  if (!manifest.audio || manifest.decoding?.kind !== 'ctc') throw new Error(`${modelDir}/manifest.json: not a CTC speech recognizer`);
  return manifest as RecognizerManifest;
}

export async function utteranceLogProbs(modelDir: string, manifest: RecognizerManifest, dir: string, intraOpNumThreads: number): Promise<Utterance[]> {
  const session = await ort.InferenceSession.create(path.join(modelDir, 'acoustic.onnx'), { intraOpNumThreads });
  const states = Object.fromEntries(
    manifest.graphs.acoustic.states.map((s) => {
      const dims = session.inputMetadata.find((m) => m.name === s.input);
      const shape = (dims && 'shape' in dims ? dims.shape : []).map((d) => (typeof d === 'number' ? d : 1));
      return [s.input, new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape)];
    }),
  );
  const items = readFileSync(path.join(dir, 'transcripts.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string; text: string });
  const out: Utterance[] = [];
  for (const item of items) {
    const audio = decodeWav(readFileSync(path.join(dir, item.file))).samples;
    const { samples, frames, skipFrames } = wholeUtterance(audio, manifest.audio); // as the server's streams see it
    const res = await session.run({ [manifest.audio.input]: new ort.Tensor('float32', samples, [1, samples.length]), ...states });
    const logProbs = res[manifest.decoding.logProbs];
    out.push({ text: item.text, logProbs: (logProbs.data as Float32Array).slice(skipFrames * logProbs.dims[2]), frames, seconds: audio.length / manifest.audio.sampleRate });
  }
  await session.release();
  return out;
}
