/**
 * A reload (`POST /v2/repository/models/NAME/load` on a ready model, `--model-control explicit`) does
 * not fail the work in flight: new work goes to the new version at once, and the previous version is
 * released once what it holds has finished (or after --shutdown-grace). Here a live recognition
 * stream (its work in the model's executor) and a spoken-QA request (its task on the main thread),
 * open on the old version across the reload, get their results to the end.
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { decodeWav } from '../server/core/audio/decode-wav.ts';
import wavefile from 'wavefile';
import { loadProto } from '../server/grpc/load-proto.ts';
import { startBundledServer } from './helpers/test-server.ts';

const pkg = loadProto('google/cloud/speech/v1/cloud_speech.proto') as any;
let server: Awaited<ReturnType<typeof startBundledServer>>;

beforeAll(async () => {
  server = await startBundledServer(['asr', 'speech_qa'], { modelControl: 'explicit' });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

/** A held-out utterance as LINEAR16, in messages of 0.5 s (under the 25 KB limit of one). */
function utterance(): Buffer[] {
  const { samples } = decodeWav(readFileSync(path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample', '000.wav')));
  const pcm = Buffer.from(Int16Array.from(samples, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768)))).buffer);
  const parts: Buffer[] = [];
  for (let at = 0; at < pcm.length; at += 16000) parts.push(pcm.subarray(at, at + 16000));
  return parts;
}

describe('reloading a model', () => {
  it('lets a stream open on the previous version finish; the next stream runs on the new one', async () => {
    const client = new pkg.google.cloud.speech.v1.Speech(server.grpc, credentials.createInsecure());
    try {
      const call = client.StreamingRecognize(new Metadata());
      const results: unknown[] = [];
      const ended = new Promise<ServiceError | undefined>((resolve) => {
        call.on('data', (d: unknown) => results.push(d));
        call.on('error', (e: ServiceError) => resolve(e));
        call.on('end', () => resolve(undefined));
      });
      call.write({ streaming_config: { config: { encoding: 'LINEAR16', sample_rate_hertz: 16000 }, interim_results: true } });
      const parts = utterance();
      const cut = Math.floor(parts.length / 2);
      for (const audio of parts.slice(0, cut)) call.write({ audio_content: audio });
      const before = server.context.repository.model('asr');
      const reload = await fetch(`${server.http}/v2/repository/models/asr/load`, { method: 'POST' });
      expect(reload.status).toBe(200);
      expect(server.context.repository.model('asr')).not.toBe(before); // new requests go to the new version
      for (const audio of parts.slice(cut)) call.write({ audio_content: audio });
      call.end();
      expect(await ended).toBeUndefined(); // not UNAVAILABLE "the model's executor stopped during this request"
      const finals = results.filter((d) => (d as { results: { is_final: boolean }[] }).results.some((x) => x.is_final));
      expect(finals.length).toBeGreaterThan(0); // recognised to the end
    } finally {
      client.close();
    }
  });

  it('lets a spoken-QA request, whose task runs on the main thread, finish across a reload of its model', async () => {
    const demo = path.join(BUNDLED_MODELS_DIR, 'speech_qa', 'demo-sample');
    // the demo story five times over: a request long enough to be in flight when the reload ends
    const { samples, sampleRate } = decodeWav(readFileSync(path.join(demo, 'story.wav')));
    const long = new wavefile.WaveFile();
    long.fromScratch(
      1,
      sampleRate,
      '32f',
      Float32Array.from({ length: samples.length * 5 }, (_, i) => samples[i % samples.length]),
    );
    const form = new FormData();
    form.set('model', 'speech_qa');
    form.set('story', new Blob([new Uint8Array(long.toBuffer())]), 'story.wav');
    form.set('question', new Blob([readFileSync(path.join(demo, 'question.wav'))]), 'question.wav');
    form.append('choices[]', 'no');
    form.append('choices[]', 'yes');
    const asked = fetch(`${server.http}/v1/speech-qa`, { method: 'POST', body: form });
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetch(`${server.http}/v2/repository/models/speech_qa/load`, { method: 'POST' })).status).toBe(200);
    const res = await asked;
    const body = (await res.json()) as { choice_index?: number; error?: unknown };
    expect(res.status, JSON.stringify(body)).toBe(200); // not 503 "model speech_qa was unloaded"
    expect(typeof body.choice_index).toBe('number');
  });
});
