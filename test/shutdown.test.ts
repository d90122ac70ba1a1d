/**
 * Graceful shutdown of the real process: on SIGTERM readiness turns false and new work is refused,
 * a speech stream in flight finishes with its transcript, then the process exits 0; with a short
 * grace period a stream that does not end is ended with UNAVAILABLE and the process still exits 0 in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import wavefile from 'wavefile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { loadProto } from '../server/grpc/load-proto.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
let models: string;

beforeAll(() => {
  models = mkdtempSync(path.join(tmpdir(), 'seqserve-shutdown-'));
  for (const m of ['asr', 'slots']) cpSync(path.join(BUNDLED_MODELS_DIR, m), path.join(models, m), { recursive: true });
});
afterAll(() => rmSync(models, { recursive: true, force: true }));

interface Child {
  proc: ChildProcess;
  http: string;
  grpc: string;
  exited: Promise<number | null>;
  logs: string[];
}

async function startChild(grace: number): Promise<Child> {
  const proc = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin', 'seqserve.js'),
      'serve',
      '--models',
      models,
      '--host',
      '127.0.0.1',
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--providers',
      'cpu',
      '--shutdown-grace',
      String(grace),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const logs: string[] = [];
  const ports = await new Promise<{ httpPort: number; grpcPort: number }>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      logs.push(line);
      const entry = JSON.parse(line) as { httpPort?: number; grpcPort?: number };
      if (entry.httpPort && entry.grpcPort) resolve({ httpPort: entry.httpPort, grpcPort: entry.grpcPort });
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening`)));
  });
  return { proc, http: `http://127.0.0.1:${ports.httpPort}`, grpc: `127.0.0.1:${ports.grpcPort}`, exited, logs };
}

const pkg = loadProto('google/cloud/speech/v1/cloud_speech.proto') as any;
const sampleAudio = (): Buffer => {
  const w = new wavefile.WaveFile(readFileSync(path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample', '000.wav')));
  return Buffer.from((w.data as { samples: Uint8Array }).samples);
};

/** A streaming recognition that sends `audio` in 100 ms requests, one every `everyMs`; calls `onStarted` after the first few. */
function recognize(address: string, audio: Buffer, everyMs: number, onStarted: () => void): Promise<{ finals: string[]; error?: ServiceError }> {
  return new Promise((resolve) => {
    const client = new pkg.google.cloud.speech.v1.Speech(address, credentials.createInsecure());
    const call = client.StreamingRecognize();
    const finals: string[] = [];
    call.on('data', (r: { results: { is_final: boolean; alternatives: { transcript: string }[] }[] }) => {
      for (const res of r.results) if (res.is_final) finals.push(res.alternatives[0].transcript);
    });
    call.on('error', (error: ServiceError) => (client.close(), resolve({ finals, error })));
    call.on('end', () => (client.close(), resolve({ finals })));
    call.write({ streaming_config: { config: { encoding: 'LINEAR16', sample_rate_hertz: 16000, language_code: 'en-US' } } });
    let at = 0;
    let sent = 0;
    const timer = setInterval(() => {
      if (at >= audio.length) {
        clearInterval(timer);
        call.end();
        return;
      }
      call.write({ audio_content: audio.subarray(at, at + 3200) });
      at += 3200;
      if (++sent === 5) onStarted();
    }, everyMs);
    call.on('error', () => clearInterval(timer));
  });
}

describe('graceful shutdown (SIGTERM)', () => {
  it('refuses new work, lets the stream in flight finish, then exits 0', async () => {
    const child = await startChild(20);
    const audio = sampleAudio();
    let signalled = 0;
    const stream = recognize(child.grpc, audio, 10, () => {
      signalled = Date.now();
      child.proc.kill('SIGTERM');
    });
    await new Promise<void>((resolve) => {
      const wait = setInterval(() => signalled && (clearInterval(wait), resolve()), 5);
    });
    await new Promise((r) => setTimeout(r, 100));
    // after SIGTERM: not ready, and a new request is refused (503 on a live connection, or no connection)
    const ready = await fetch(`${child.http}/v2/health/ready`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(ready);
    const fresh = await fetch(`${child.http}/v2/models/slots`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(fresh);
    const result = await stream;
    expect(result.error).toBeUndefined();
    expect(result.finals.join(' ').length).toBeGreaterThan(5);
    expect(await child.exited).toBe(0);
    expect(child.logs.some((l) => l.includes('shutting down'))).toBe(true);
  }, 60_000);

  it('cuts what is still running when the grace period is over, and still exits 0', async () => {
    const child = await startChild(1);
    const silence = Buffer.alloc(16000 * 2 * 120); // two minutes, sent in real time: it will not finish
    let signalled = 0;
    const stream = recognize(child.grpc, silence, 100, () => {
      signalled = Date.now();
      child.proc.kill('SIGTERM');
    });
    const code = await child.exited;
    const tookMs = Date.now() - signalled;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(5000);
    expect(tookMs).toBeGreaterThanOrEqual(900);
    // ended as UNAVAILABLE (clients retry it elsewhere), not CANCELLED by the transport
    const { error } = await stream;
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(error?.details).toMatch(/shutting down/);
  }, 60_000);
});
