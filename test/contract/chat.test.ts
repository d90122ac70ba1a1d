/**
 * Contract of `POST /v1/chat/completions` (JSON and SSE) and `GET /v1/models` over a stub context:
 * status codes, response shapes, OpenAI error objects naming the parameter, SSE framing and the one
 * in-stream error event, admission of streams (429 + Retry-After, the place given back however a
 * stream ends), and the request id. The model's words are the fake engine's; what the bundled chat
 * model answers is test/chat.test.ts's business.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../server/http/app.ts';
import { type OpenAiErrorBody, jsonInit, sseData, sseEvents, SseReader } from '../helpers/contract-http.ts';
import { FAKE_IMAGE_SPEC, FakeGenerationEngine, fakeSlotFiller } from '../helpers/fake-task-models.ts';
import { type StubOptions, stubContext } from '../helpers/stub-context.ts';

function setup(config: StubOptions['config'] = {}) {
  const chat = new FakeGenerationEngine();
  const caption = new FakeGenerationEngine(FAKE_IMAGE_SPEC);
  const stub = stubContext({
    config,
    models: [
      { name: 'chat', task: 'chat', taskModel: chat.engine },
      { name: 'caption', task: 'caption', taskModel: caption.engine, knows: { shapes: ['circle', 'square'], colours: ['red'] } },
      { name: 'slots', task: 'slot-filling', taskModel: fakeSlotFiller() },
      { name: 'broken', task: 'chat', taskModel: new FakeGenerationEngine().engine, state: 'failed', reason: 'manifest.json: generation: is required' },
    ],
  });
  return { app: createApp(stub.ctx), chat, caption, stub };
}

const hello = { messages: [{ role: 'user', content: 'hello' }] };

async function requestsTotal(stub: ReturnType<typeof stubContext>): Promise<Record<string, number>> {
  const values = (await stub.metrics.requests.get()).values;
  return Object.fromEntries(values.map((v) => [`${v.labels.endpoint}:${v.labels.outcome}`, v.value]));
}

describe('GET /v1/models', () => {
  it("lists the ready models in OpenAI's list shape, and answers one by name", async () => {
    const { app } = setup();
    const res = await app.request('/v1/models');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body.object).toBe('list');
    expect(body.data.map((m: { id: string }) => m.id).sort()).toEqual(['caption', 'chat', 'slots']); // not the failed one
    for (const m of body.data.filter((m: { id: string }) => m.id !== 'caption'))
      expect(m).toEqual({ id: expect.any(String), object: 'model', created: expect.any(Number), owned_by: 'seqserve', task: expect.any(String) });
    expect(await (await app.request('/v1/models/chat')).json()).toEqual({ id: 'chat', object: 'model', created: 0, owned_by: 'seqserve', task: 'chat' });
    // a manifest that says what its model knows has it listed (the captioner's shapes and colours)
    expect(await (await app.request('/v1/models/caption')).json()).toEqual({
      id: 'caption',
      object: 'model',
      created: 0,
      owned_by: 'seqserve',
      task: 'caption',
      knows: { shapes: ['circle', 'square'], colours: ['red'] },
    });
  });

  it('answers 404 for an unknown model and 503 for one that is not serving, naming `model`', async () => {
    const { app } = setup();
    const unknown = await app.request('/v1/models/nope');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { message: expect.stringMatching(/unknown model "nope"/), type: 'not_found_error', param: 'model', code: 'not_found' } });
    const broken = await app.request('/v1/models/broken');
    expect(broken.status).toBe(503);
    expect(await broken.json()).toEqual({
      error: { message: expect.stringMatching(/not serving: it failed to load: manifest.json/), type: 'server_error', param: 'model', code: 'unavailable' },
    });
  });
});

describe('POST /v1/chat/completions (JSON)', () => {
  it('answers a chat.completion with choices and usage', async () => {
    const { app, chat } = setup();
    const res = await app.request('/v1/chat/completions', jsonInit(hello));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toMatch(/\S/);
    const body = await res.json();
    expect(body).toEqual({
      id: expect.stringMatching(/^chatcmpl-[0-9a-f]{32}$/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'chat',
      system_fingerprint: 'seqserve-chat-1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hello world', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 }, // <user> hello
    });
    expect(Number.isInteger(body.created)).toBe(true);
    expect(chat.runs).toHaveLength(1);
    expect(chat.runs[0].end).toBe('finished');
  });

  it('carries n choices, OpenAI logprobs, seqserve attention, and finish_reason length at max_tokens', async () => {
    const { app } = setup();
    const res = await app.request('/v1/chat/completions', jsonInit({ ...hello, n: 2, logprobs: true, top_logprobs: 2, include_attention: true, max_tokens: 1 }));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.choices).toHaveLength(2);
    body.choices.forEach((choice: Record<string, unknown>, i: number) => {
      expect(choice).toMatchObject({ index: i, finish_reason: 'length', message: { role: 'assistant', content: 'hello' } });
      expect(choice.logprobs).toEqual({
        content: [
          {
            token: 'hello',
            logprob: expect.any(Number),
            bytes: [...new TextEncoder().encode('hello')],
            top_logprobs: [expect.objectContaining({ token: expect.any(String), logprob: expect.any(Number), bytes: expect.any(Array) }), expect.anything()],
          },
        ],
      });
      expect(choice.attention).toEqual({ source_tokens: ['<user>', 'hello'], output_tokens: ['hello'], weights: [[0.5, 0.5]] });
    });
    expect(body.usage).toEqual({ prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 });
  });

  it.each([
    ['a malformed body', '{"messages": [', 400, 'body', 'invalid_request_error', 'invalid_argument'],
    ['no messages', { messages: [] }, 400, 'messages', 'invalid_request_error', 'invalid_argument'],
    ['an unknown role', { messages: [{ role: 'robot', content: 'hi' }] }, 400, 'messages[0].role', 'invalid_request_error', 'invalid_argument'],
    ['max_tokens 0', { ...hello, max_tokens: 0 }, 400, 'max_tokens', 'invalid_request_error', 'invalid_argument'],
    ["max_tokens over the model's limit", { ...hello, max_tokens: 100 }, 400, 'max_tokens', 'invalid_request_error', 'invalid_argument'],
    ['max_completion_tokens over the limit', { ...hello, max_completion_tokens: 100 }, 400, 'max_completion_tokens', 'invalid_request_error', 'invalid_argument'],
    ['top_p 0', { ...hello, top_p: 0 }, 400, 'top_p', 'invalid_request_error', 'invalid_argument'],
    ['top_logprobs without logprobs', { ...hello, top_logprobs: 2 }, 400, 'top_logprobs', 'invalid_request_error', 'invalid_argument'],
    ['n over beam_width', { ...hello, beam_width: 2, n: 3 }, 400, 'n', 'invalid_request_error', 'invalid_argument'],
    ['a turn with no text the model reads', { messages: [{ role: 'user', content: '🙂 ' }] }, 400, 'messages[0].content', 'invalid_request_error', 'invalid_argument'],
    [
      'an image for a text model',
      { model: 'chat', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] },
      400,
      'messages[0].content[0].image_url.url',
      'invalid_request_error',
      'invalid_argument',
    ],
    [
      'a web image URL',
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }] },
      400,
      'messages[0].content[0].image_url.url',
      'invalid_request_error',
      'invalid_argument',
    ],
    ['a model of another task', { ...hello, model: 'slots' }, 400, 'model', 'invalid_request_error', 'invalid_argument'],
    ['an unknown model', { ...hello, model: 'nope' }, 404, 'model', 'not_found_error', 'not_found'],
    ['a model that is not serving', { ...hello, model: 'broken' }, 503, 'model', 'server_error', 'unavailable'],
  ])("refuses %s in OpenAI's error shape, naming the parameter", async (_, body, status, param, type, code) => {
    const { app, chat } = setup();
    for (const stream of [false, true]) {
      // a stream's request is refused before any event: the same plain JSON error
      const payload = typeof body === 'string' ? body : { ...body, stream };
      const res = await app.request('/v1/chat/completions', jsonInit(payload));
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('x-request-id')).toMatch(/\S/);
      expect(await res.json()).toEqual({ error: { message: expect.any(String), type, param, code } });
    }
    expect(chat.runs).toEqual([]); // refused before the engine generated anything
  });

  it('refuses a body over --max-body-bytes with 413 naming `body`, declared or not', async () => {
    const { app } = setup({ limits: { maxBodyBytes: 1024 } });
    const big = JSON.stringify({ ...hello, user: 'x'.repeat(2000) });
    for (const headers of [{}, { 'content-length': String(big.length) }] as Record<string, string>[]) {
      const res = await app.request('/v1/chat/completions', jsonInit(big, headers));
      expect(res.status).toBe(413);
      expect((await res.json()) as OpenAiErrorBody).toEqual({
        error: { message: expect.stringMatching(/larger than the limit of 1024 bytes/), type: 'invalid_request_error', param: 'body', code: 'payload_too_large' },
      });
    }
  });
});

describe('POST /v1/chat/completions (SSE)', () => {
  it('streams chat.completion.chunk events: the role, a delta per token, the finish, usage when asked, then [DONE]', async () => {
    const { app, chat } = setup();
    const res = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-request-id')).toMatch(/\S/);
    const data = sseData(await res.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks)
      expect(c).toMatchObject({ id: chunks[0].id, object: 'chat.completion.chunk', created: expect.any(Number), model: 'chat', system_fingerprint: 'seqserve-chat-1' });
    expect(chunks[0].id).toMatch(/^chatcmpl-/);
    expect(chunks[0].choices).toEqual([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    expect(chunks.slice(1, 3).map((c) => c.choices)).toEqual([
      [{ index: 0, delta: { content: 'hello' }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: { content: ' world' }, logprobs: null, finish_reason: null }],
    ]);
    expect(chunks[3].choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    expect(chunks[4]).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 } });
    expect(chunks).toHaveLength(5);
    expect(chat.runs[0].end).toBe('finished');
  });

  it("streams n choices by index, with logprobs and each token's attention row", async () => {
    const { app } = setup();
    const res = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true, n: 2, logprobs: true, include_attention: true }));
    const events = sseEvents(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    const choices = (events.slice(0, -1) as { choices: Record<string, unknown>[] }[]).map((c) => c.choices[0]);
    expect(choices.slice(0, 2)).toEqual(
      [0, 1].map((index) => ({ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null, source_tokens: ['<user>', 'hello'] })),
    );
    const tokens = choices.filter((c) => (c.delta as { content?: string }).content && c.finish_reason === null && !('source_tokens' in c));
    expect(tokens).toHaveLength(4);
    for (const t of tokens) expect(t).toMatchObject({ logprobs: { content: [{ token: expect.any(String), logprob: expect.any(Number) }] }, attention: [0.5, 0.5] });
    expect(
      choices
        .filter((c) => c.finish_reason === 'stop')
        .map((c) => c.index)
        .sort(),
    ).toEqual([0, 1]);
  });

  it('ends a stream that fails mid-way with the one error event, no [DONE], and gives its place back', async () => {
    const { app, chat, stub } = setup();
    chat.script = { tokens: ['hello', 'world', 'fly'], failAt: 1 };
    const res = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }));
    expect(res.status).toBe(200);
    const data = sseData(await res.text());
    expect(data).not.toContain('[DONE]');
    expect(JSON.parse(data[1]).choices[0].delta).toEqual({ content: 'hello' });
    expect(JSON.parse(data.at(-1)!)).toEqual({
      type: 'error',
      error: { message: expect.stringMatching(/^internal error: decoder step failed/), type: 'server_error', param: null, code: 'internal' },
    });
    expect(data).toHaveLength(3);
    expect(stub.admission.count('chat', 'stream')).toBe(0);
    expect(await requestsTotal(stub)).toEqual({ 'chat_stream:internal': 1 });
  });
});

describe('stream admission (--max-streams 1)', () => {
  const limited = () => setup({ limits: { maxStreamsPerModel: 1 } });

  async function refusedWith429(app: ReturnType<typeof setup>['app']) {
    const res = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: { message: expect.stringMatching(/1 streams open, its limit/), type: 'rate_limit_error', param: null, code: 'resource_exhausted' } });
  }

  it('refuses a second stream with 429 and Retry-After while the first is open; JSON requests are not streams; the place comes back when the first ends', async () => {
    const { app, chat, stub } = limited();
    chat.script = { tokens: ['hello', 'world'], holdAt: 1 };
    const first = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }));
    expect(first.status).toBe(200);
    expect(stub.admission.count('chat', 'stream')).toBe(1); // taken when the call opened, before any event was read
    await refusedWith429(app);
    chat.script = { tokens: ['hello', 'world'] };
    expect((await app.request('/v1/chat/completions', jsonInit(hello))).status).toBe(200);
    const reading = first.text();
    await new Promise((r) => setTimeout(r, 10));
    chat.release();
    expect(sseData(await reading).at(-1)).toBe('[DONE]');
    expect(stub.admission.count('chat', 'stream')).toBe(0);
    expect((await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }))).status).toBe(200);
    const rejected = (await stub.metrics.rejected.get()).values;
    expect(rejected).toEqual([expect.objectContaining({ labels: { model: 'chat', reason: 'too_many_streams' }, value: 1 })]);
  });

  it('gives the place back and stops the work when the client cancels the body', async () => {
    const { app, chat, stub } = limited();
    chat.script = { tokens: ['hello', 'world'], holdAt: 2 };
    const first = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }));
    const sse = new SseReader(first);
    expect(JSON.parse((await sse.next())!).choices[0].delta.role).toBe('assistant');
    expect(JSON.parse((await sse.next())!).choices[0].delta.content).toBe('hello');
    await sse.reader.cancel();
    expect(stub.admission.count('chat', 'stream')).toBe(0);
    expect(chat.runs[0].end).toBe('returned');
    expect((await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }))).status).toBe(200);
  });

  it('gives the place back, stops the work and counts it cancelled when the client aborts while a read waits', async () => {
    const { app, chat, stub } = limited();
    chat.script = { tokens: ['hello', 'world'], holdAt: 1 };
    const client = new AbortController();
    const first = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }, {}, client.signal));
    expect(first.status).toBe(200);
    const sse = new SseReader(first);
    await sse.next();
    await sse.next();
    const pending = sse.next(); // the engine holds before its next event
    await new Promise((r) => setTimeout(r, 10));
    client.abort();
    await pending.catch(() => undefined);
    expect(chat.runs[0].request.signal?.aborted).toBe(true);
    expect(chat.runs[0].end).toBe('cancelled');
    expect(stub.admission.count('chat', 'stream')).toBe(0);
    expect(await requestsTotal(stub)).toEqual({ 'chat_stream:cancelled': 1 });
    chat.script = { tokens: ['hello'] };
    const next = await app.request('/v1/chat/completions', jsonInit({ ...hello, stream: true }));
    expect(next.status).toBe(200);
    expect(sseData(await next.text()).at(-1)).toBe('[DONE]');
  });
});
