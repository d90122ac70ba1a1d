/**
 * Video captioning through the server: captions/s and latency with 1 and 16 concurrent clients
 * (POST /v1/captions multipart, an animated GIF per request, over loopback, closed loop) on the
 * committed held-out sample, beside raw onnxruntime-node: one encoder run over a clip's 8 frames
 * and greedy decoder steps to the end of its caption, one clip at a time, in-process.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { SeqserveHttpClient } from '../clients/lib/http-client.ts';
import { parseManifest } from '../server/core/manifest.ts';
import { sampleFrames, videoTensor } from '../server/core/video/video-tensor.ts';
import { spawnServer } from './spawn-server.ts';
import { percentile, timeCallsFor } from './stats.ts';

const MODELS = process.env.BENCH_MODELS ?? path.resolve(import.meta.dirname, '..', 'models');
const VIDEO_DIR = path.join(MODELS, 'video_caption');
const SAMPLE = path.join(VIDEO_DIR, 'heldout-sample');

interface Row {
  concurrency: number;
  captions: number;
  seconds: number;
  latency: number[];
}

async function closedLoop(client: SeqserveHttpClient, clips: Uint8Array[], concurrency: number, seconds: number): Promise<Row> {
  const { seconds: elapsed, latency } = await timeCallsFor(concurrency, seconds, (i) => client.caption(clips[i % clips.length], { model: 'video_caption' }));
  return { concurrency, captions: latency.length, seconds: elapsed, latency };
}

/** Raw onnxruntime-node, one clip at a time (decoded beforehand): encoder + greedy decoder steps, p50 ms per caption. */
async function rawLatency(clips: Uint8Array[], rounds: number): Promise<number> {
  const { default: sharp } = await import('sharp');
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(VIDEO_DIR, 'manifest.json'), 'utf8')));
  const spec = manifest.video!;
  const gen = manifest.generation!;
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const encoder = await ort.InferenceSession.create(path.join(VIDEO_DIR, manifest.graphs.encoder.file), options);
  const decoder = await ort.InferenceSession.create(path.join(VIDEO_DIR, manifest.graphs.decoder.file), options);
  const inputs = await Promise.all(
    clips.map(async (gif) => {
      const meta = await sharp(gif, { animated: true }).metadata();
      const frames = await Promise.all(
        sampleFrames(meta.pages ?? 1, spec, meta.delay).map(async (k) => {
          const { data, info } = await sharp(gif, { page: k, pages: 1 }).removeAlpha().resize(spec.width, spec.height, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
          return { pixels: data, width: info.width, height: info.height, channels: 3 as const };
        }),
      );
      const t = videoTensor(frames, spec);
      return new ort.Tensor('float32', t.pixels, [1, ...t.dims]);
    }),
  );
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const enc = await encoder.run({ [gen.encoder.input]: inputs[r % inputs.length] });
    let h = enc.h0;
    let c = enc.c0;
    let prev = gen.bos;
    for (let step = 0; step < gen.maxNewTokens; step++) {
      const out = await decoder.run({ prev_token: new ort.Tensor('int64', BigInt64Array.from([BigInt(prev)]), [1]), h_in: h, c_in: c, memory: enc.memory, keys: enc.keys });
      const logits = out.logits.data as Float32Array;
      prev = logits.indexOf(Math.max(...logits));
      h = out.h_out;
      c = out.c_out;
      if (prev === gen.eos) break;
    }
    times.push(performance.now() - t0);
  }
  await encoder.release();
  await decoder.release();
  return percentile(
    times.sort((a, b) => a - b),
    50,
  );
}

export async function benchVideo(seconds = Number(process.env.BENCH_VIDEO_SECONDS ?? 6)): Promise<string> {
  const clips = readFileSync(path.join(SAMPLE, 'captions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => new Uint8Array(readFileSync(path.join(SAMPLE, (JSON.parse(l) as { video: string }).video))));
  const server = await spawnServer(['--intra-op-threads', '1', '--models', VIDEO_DIR]);
  const client = new SeqserveHttpClient(`http://127.0.0.1:${server.httpPort}`);
  const rows: Row[] = [];
  try {
    await closedLoop(client, clips, 4, 1);
    for (const c of [1, 16]) rows.push(await closedLoop(client, clips, c, seconds));
  } finally {
    await server.stop();
  }
  const raw = await rawLatency(clips, 100);
  const rate = (r: Row) => r.captions / r.seconds;
  return [
    '### Video captioning (`video_caption` model, POST /v1/captions multipart over loopback)',
    '',
    `Closed loop for ${seconds} s per row; the ${clips.length} animated GIFs (8 frames of 64×64) of the committed held-out sample, greedy. Each request decodes its GIF's sampled frames with sharp on the main thread; the encoder runs and decoder steps of concurrent requests are batched by the generation engine in the model's executor thread.`,
    '',
    '| concurrent clients | captions/s | vs one at a time | latency p50 ms | latency p99 ms |',
    '|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.concurrency} | ${rate(r).toFixed(0)} | ${(rate(r) / rate(rows[0])).toFixed(1)}× | ${percentile(r.latency, 50).toFixed(1)} | ${percentile(r.latency, 99).toFixed(1)} |`,
    ),
    '',
    `Raw onnxruntime-node in-process (one clip at a time, frames decoded beforehand, 1 intra-op thread): p50 ${raw.toFixed(2)} ms per caption (encoder + greedy steps).`,
  ].join('\n');
}
