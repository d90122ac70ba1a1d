/**
 * API keys: with keys configured, every HTTP route and gRPC method but health checks and the demo's
 * static files needs `authorization: Bearer <key>`; real clients (the openai SDK, KServe gRPC stubs)
 * get in with a key and get UNAUTHENTICATED / 401 without one; keys never reach the logs.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import OpenAI from 'openai';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { startServer, type RunningServer } from '../server/start-server.ts';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { slotTaggerInputs } from './helpers/slot-features.ts';

const KEY = 'sk-test-7c1d9e0b44a2f3aa';
const OTHER = 'sk-test-00000000000000';
const logs: string[] = [];
let server: RunningServer;
let http: string;
let grpc: string;

beforeAll(async () => {
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (logs.push(chunk.toString()), done()) });
  server = await startServer(
    { ...DEFAULT_CONFIG, modelsDir: BUNDLED_MODELS_DIR, host: '127.0.0.1', httpPort: 0, grpcPort: 0, runtime: { ...DEFAULT_CONFIG.runtime, providers: ['cpu'] }, apiKeys: [KEY] },
    pino({ level: 'debug' }, sink),
  );
  http = `http://127.0.0.1:${server.httpPort}`;
  grpc = `127.0.0.1:${server.grpcPort}`;
});
afterAll(async () => {
  await server.close();
});

const messages = [{ role: 'user' as const, content: 'hello' }];

describe('API keys on HTTP', () => {
  it('refuses requests without a valid key with 401 in the endpoint family error shape', async () => {
    for (const headers of [{}, { authorization: `Bearer ${OTHER}` }, { authorization: KEY }] as Record<string, string>[]) {
      const res = await fetch(`${http}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ messages }) });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      const body = (await res.json()) as { error: { type: string; message: string } };
      expect(body.error.type).toBe('authentication_error');
      expect(body.error.message).not.toContain(OTHER);
    }
    const kserve = await fetch(`${http}/v2/models/slots`);
    expect(kserve.status).toBe(401);
    expect(((await kserve.json()) as { error: string }).error).toMatch(/API key/);
    for (const path of ['/metrics', '/v1/models', '/v1/models/slots/files/manifest.json']) expect((await fetch(`${http}${path}`)).status).toBe(401);
  });

  it('lets the openai SDK in with the key', async () => {
    const client = new OpenAI({ baseURL: `${http}/v1`, apiKey: KEY });
    const reply = await client.chat.completions.create({ model: 'chat', messages, temperature: 0 });
    expect(reply.choices[0].message.content!.length).toBeGreaterThan(0);
    await expect(new OpenAI({ baseURL: `${http}/v1`, apiKey: OTHER, maxRetries: 0 }).chat.completions.create({ model: 'chat', messages })).rejects.toMatchObject({ status: 401 });
  });

  it('keeps health checks and the demo page open', async () => {
    expect((await fetch(`${http}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${http}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${http}/`)).status).toBe(200);
  });
});

describe('API keys on gRPC', () => {
  it('refuses calls without a valid key with UNAUTHENTICATED, serves them with one, keeps health open', async () => {
    const inputs = slotTaggerInputs('fly to boston');
    const request = { model_name: 'slots', inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, contents: { int64_contents: i.data.map(String) } })) };
    const anonymous = kserveGrpcClient(grpc);
    const wrong = kserveGrpcClient(grpc, OTHER);
    const keyed = kserveGrpcClient(grpc, KEY);
    try {
      for (const c of [anonymous, wrong]) {
        const err = await c.modelInfer(request).then(
          () => undefined,
          (e: ServiceError) => e,
        );
        expect(err?.code).toBe(status.UNAUTHENTICATED);
        expect(err?.details).toMatch(/API key/);
      }
      expect((await keyed.modelInfer(request)).outputs.length).toBeGreaterThan(0);
      expect(await anonymous.serverLive({})).toEqual({ live: true });
      expect(await anonymous.serverReady({})).toEqual({ ready: true });
      expect((await anonymous.healthCheck({ service: '' })).status).toBe('SERVING');
    } finally {
      for (const c of [anonymous, wrong, keyed]) c.close();
    }
  });
});

describe('logs', () => {
  it('never contain a key, valid or not', () => {
    const text = logs.join('');
    expect(text).toContain('http request'); // the requests above were logged
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(OTHER);
  });
});
