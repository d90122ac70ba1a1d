/**
 * What every HTTP response carries, whatever the route: the request id, CORS headers when
 * `corsOrigins` is set (on JSON replies, streams, errors and 429s alike), a 404 for unknown routes,
 * 503 with Retry-After while the server is not ready, 401 without an API key, and 504 past
 * `--request-timeout`. Over a stub context: no sockets, no model files.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../server/http/app.ts';
import { form, jsonInit, png, sseData, speech } from '../helpers/contract-http.ts';
import { FAKE_IMAGE_SPEC, FakeGenerationEngine, fakeAcousticModel, fakeMemoryNetwork, fakeSlotFiller } from '../helpers/fake-task-models.ts';
import { type StubOptions, stubContext } from '../helpers/stub-context.ts';

const ORIGIN = 'https://app.example';

function setup(config: StubOptions['config'] = {}) {
  const chat = new FakeGenerationEngine();
  const caption = new FakeGenerationEngine(FAKE_IMAGE_SPEC);
  const stub = stubContext({
    config,
    models: [
      { name: 'chat', task: 'chat', taskModel: chat.engine },
      { name: 'caption', task: 'caption', taskModel: caption.engine },
      { name: 'asr', task: 'speech-recognition', taskModel: fakeAcousticModel() },
      { name: 'qa', task: 'speech-qa', taskModel: fakeMemoryNetwork('asr') },
      { name: 'slots', task: 'slot-filling', taskModel: fakeSlotFiller() },
    ],
  });
  return { app: createApp(stub.ctx), chat, stub };
}

const hello = { messages: [{ role: 'user', content: 'hello' }] };

/** One request of each kind of response: JSON, each SSE stream, an OpenAI error, a KServe error. */
async function requests(): Promise<{ name: string; path: string; init: () => RequestInit; status: number; stream?: boolean }[]> {
  const image = new Blob([await png()]);
  const audio = () =>
    new Blob([
      speech([
        ['loud', 0.4],
        ['quiet', 0.6],
      ]),
    ]);
  return [
    { name: 'JSON reply', path: '/v1/chat/completions', init: () => jsonInit(hello), status: 200 },
    { name: 'chat stream', path: '/v1/chat/completions', init: () => jsonInit({ ...hello, stream: true }), status: 200, stream: true },
    { name: 'caption stream', path: '/v1/captions', init: () => ({ method: 'POST', body: form({ image, stream: 'true' }) }), status: 200, stream: true },
    { name: 'transcription stream', path: '/v1/audio/transcriptions', init: () => ({ method: 'POST', body: form({ file: audio(), stream: 'true' }) }), status: 200, stream: true },
    {
      name: 'spoken-QA stream',
      path: '/v1/speech-qa',
      init: () => ({ method: 'POST', body: form({ story: audio(), question: 'where is mary', 'choices[]': ['the kitchen', 'the garden'], stream: 'true' }) }),
      status: 200,
      stream: true,
    },
    { name: 'OpenAI error', path: '/v1/chat/completions', init: () => jsonInit({ ...hello, model: 'nope' }), status: 404 },
    { name: 'KServe error', path: '/v2/models/nope', init: () => ({}), status: 404 },
    { name: 'unknown route', path: '/v3/nothing', init: () => ({}), status: 404 },
  ];
}

describe('headers on every response', () => {
  it('every kind of response carries x-request-id and, with --cors-origins, the CORS headers; streams as JSON replies', async () => {
    const { app } = setup({ corsOrigins: [ORIGIN] });
    for (const r of await requests()) {
      const init = r.init();
      const res = await app.request(r.path, { ...init, headers: { ...(init.headers as Record<string, string>), origin: ORIGIN } });
      const body = await res.text();
      expect({ name: r.name, status: res.status }).toEqual({ name: r.name, status: r.status });
      expect(res.headers.get('x-request-id'), r.name).toMatch(/\S/);
      expect(res.headers.get('access-control-allow-origin'), r.name).toBe(ORIGIN);
      expect(res.headers.get('access-control-expose-headers'), r.name).toMatch(/x-request-id/);
      expect(res.headers.get('access-control-expose-headers'), r.name).toMatch(/retry-after/);
      expect(res.headers.get('vary'), r.name).toMatch(/origin/i);
      if (r.stream) {
        expect(res.headers.get('content-type'), r.name).toBe('text/event-stream; charset=utf-8');
        expect(body, r.name).not.toMatch(/"type":"error"/);
        expect(sseData(body).length, r.name).toBeGreaterThan(1);
      } else {
        expect(res.headers.get('content-type'), r.name).toMatch(/^application\/json/);
      }
    }
  });

  it("echoes a client's x-request-id, and makes a fresh one per request otherwise", async () => {
    const { app } = setup();
    expect((await app.request('/v2/health/live', { headers: { 'x-request-id': 'trace-42' } })).headers.get('x-request-id')).toBe('trace-42');
    const a = (await app.request('/v2/health/live')).headers.get('x-request-id');
    const b = (await app.request('/v2/health/live')).headers.get('x-request-id');
    expect(a).toMatch(/\S/);
    expect(a).not.toBe(b);
  });

  it('answers a CORS preflight from an allowed origin, and gives other origins no CORS headers', async () => {
    const { app } = setup({ corsOrigins: [ORIGIN] });
    const preflight = await app.request('/v1/chat/completions', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/content-type/);
    expect(preflight.headers.get('access-control-max-age')).toBe('600');
    const other = await app.request('/v1/models', { headers: { origin: 'https://elsewhere.example' } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends no CORS headers without --cors-origins, and `*` with --cors-origins "*"', async () => {
    expect((await setup().app.request('/v1/models', { headers: { origin: ORIGIN } })).headers.get('access-control-allow-origin')).toBeNull();
    const any = setup({ corsOrigins: ['*'] }).app;
    expect((await any.request('/v1/models', { headers: { origin: ORIGIN } })).headers.get('access-control-allow-origin')).toBe('*');
    expect((await any.request('/v1/chat/completions', { ...jsonInit({ ...hello, stream: true }, { origin: ORIGIN }) })).headers.get('access-control-allow-origin')).toBe('*');
  });

  it('a 429 carries Retry-After and the CORS headers that let a page read it', async () => {
    const { app, chat } = setup({ corsOrigins: [ORIGIN], limits: { maxStreamsPerModel: 1 } });
    chat.script = { tokens: ['hello', 'world'], holdAt: 1 }; // open: its first token sent (a stream's response starts with it), the next held
    const first = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }));
    expect(first.status).toBe(200);
    const refused = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }, { origin: ORIGIN }));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(refused.headers.get('access-control-expose-headers')).toMatch(/retry-after/);
    await first.body?.cancel();
  });
});

describe('routes and server state', () => {
  it('answers an unknown route with 404 and a KServe-shaped error naming it', async () => {
    const { app } = setup();
    const res = await app.request('/v3/nothing', { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'no route for POST /v3/nothing' });
  });

  it('while not ready (shutting down): health answers, new work gets 503 with Retry-After and Connection: close', async () => {
    const { app, stub } = setup();
    stub.setReady(false);
    expect(await (await app.request('/v2/health/live')).json()).toEqual({ live: true });
    const ready = await app.request('/v2/health/ready');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, error: expect.any(String) });
    const chat = await app.request('/v1/chat/completions', jsonInit(hello));
    expect(chat.status).toBe(503);
    expect(chat.headers.get('retry-after')).toBe('1');
    expect(chat.headers.get('connection')).toBe('close');
    expect(await chat.json()).toEqual({ error: { message: expect.stringMatching(/shutting down/), type: 'server_error', param: null, code: 'unavailable' } });
    const kserve = await app.request('/v2/models/slots');
    expect(kserve.status).toBe(503);
    expect(await kserve.json()).toEqual({ error: expect.stringMatching(/shutting down/) });
    stub.setReady(true);
    expect((await app.request('/v1/chat/completions', jsonInit(hello))).status).toBe(200);
  });

  it('with API keys: 401 with WWW-Authenticate without one, health open, a key lets the request through', async () => {
    const { app } = setup({ apiKeys: ['sk-test'] });
    const denied = await app.request('/v1/models');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe('Bearer');
    expect(await denied.json()).toEqual({ error: { message: expect.any(String), type: 'authentication_error', param: null, code: 'unauthenticated' } });
    const kserve = await app.request('/v2/models/slots');
    expect(kserve.status).toBe(401);
    expect(await kserve.json()).toEqual({ error: expect.any(String) });
    expect((await app.request('/v2/health/ready')).status).toBe(200);
    expect((await app.request('/v1/models', { headers: { authorization: 'Bearer sk-test' } })).status).toBe(200);
  });

  it("answers 504 in the route's error shape past --request-timeout, and stops the work", async () => {
    const { app, chat, stub } = setup({ limits: { requestTimeoutSeconds: 0.05 } });
    chat.script = { tokens: ['hello'], holdAt: 0 };
    const res = await app.request('/v1/chat/completions', jsonInit(hello));
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({
      error: { message: expect.stringMatching(/longer than the server's limit of 0.05 s/), type: 'server_error', param: null, code: 'deadline_exceeded' },
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(chat.runs[0].request.signal?.aborted).toBe(true);
    expect(chat.runs[0].end).toBe('cancelled');
    expect(stub.admission.count('chat', 'request')).toBe(0);
  });
});
