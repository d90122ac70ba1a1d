/**
 * Contract of `POST /v1/captions` (multipart or JSON; JSON reply or SSE `caption.token` /
 * `caption.done`) and of OpenAI vision input on chat completions, over a stub context with a fake
 * caption engine: shapes, errors naming the field, the in-stream error event. What the bundled
 * caption model says is test/captions.test.ts's business.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../server/http/app.ts';
import { form, jsonInit, png, sseEvents } from '../helpers/contract-http.ts';
import { FAKE_IMAGE_SPEC, FakeGenerationEngine } from '../helpers/fake-task-models.ts';
import { type StubOptions, stubContext } from '../helpers/stub-context.ts';

function setup(config: StubOptions['config'] = {}) {
  const caption = new FakeGenerationEngine(FAKE_IMAGE_SPEC);
  caption.script = { tokens: ['a', 'red', 'circle'] };
  const chat = new FakeGenerationEngine();
  const stub = stubContext({
    config,
    models: [
      { name: 'caption', task: 'caption', taskModel: caption.engine },
      { name: 'chat', task: 'chat', taskModel: chat.engine },
    ],
  });
  return { app: createApp(stub.ctx), caption, stub };
}

const PNG64 = Buffer.from(await png()).toString('base64');

const post = (body: FormData | string, type?: string): RequestInit => ({ method: 'POST', body, ...(type ? { headers: { 'content-type': type } } : {}) });

describe('POST /v1/captions', () => {
  it('answers a caption object from a multipart image, and the same from JSON base64 and a data: URL', async () => {
    const { app, caption } = setup();
    const image = await png();
    const b64 = Buffer.from(image).toString('base64');
    const replies = [
      await app.request('/v1/captions', post(form({ image: new Blob([image]) }))),
      await app.request('/v1/captions', jsonInit({ image: b64 })),
      await app.request('/v1/captions', jsonInit({ image: `data:image/png;base64,${b64}` })),
    ];
    for (const res of replies) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({
        id: expect.stringMatching(/^caption-[0-9a-f]{32}$/),
        model: 'caption',
        object: 'caption',
        caption: 'a red circle',
        finish_reason: 'stop',
        tokens: ['a', 'red', 'circle'].map((token) => ({ token, logprob: expect.any(Number) })),
        usage: { completion_tokens: 3 },
      });
    }
    // the image reached the engine as pixels of the model's size
    expect(caption.runs[0].request.source).toMatchObject({ dims: [3, FAKE_IMAGE_SPEC.height, FAKE_IMAGE_SPEC.width] });
  });

  it('adds top_logprobs, attention over the region grid, and finish_reason length on request', async () => {
    const { app } = setup();
    const res = await app.request('/v1/captions', post(form({ image: new Blob([await png()]), include_attention: 'true', top_logprobs: '2', max_tokens: '2' })));
    const body = await res.json();
    expect(body).toMatchObject({ attention_grid: [2, 2], finish_reason: 'length', caption: 'a red' });
    for (const t of body.tokens) {
      expect(t).toEqual({
        token: expect.any(String),
        logprob: expect.any(Number),
        top_logprobs: [expect.objectContaining({ token: expect.any(String), logprob: expect.any(Number) }), expect.anything()],
        attention: [0.25, 0.25, 0.25, 0.25],
      });
    }
  });

  it('streams caption.token events then caption.done', async () => {
    const { app } = setup();
    const res = await app.request('/v1/captions', post(form({ image: new Blob([await png()]), stream: 'true', include_attention: 'true' })));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = sseEvents(await res.text()) as Record<string, unknown>[];
    expect(events.slice(0, 3)).toEqual(
      ['a', ' red', ' circle'].map((delta) => ({ type: 'caption.token', delta, token: delta.trim(), logprob: expect.any(Number), attention: [0.25, 0.25, 0.25, 0.25] })),
    );
    expect(events[3]).toEqual({
      type: 'caption.done',
      id: expect.stringMatching(/^caption-/),
      model: 'caption',
      attention_grid: [2, 2],
      caption: 'a red circle',
      finish_reason: 'stop',
      usage: { completion_tokens: 3 },
    });
    expect(events).toHaveLength(4);
  });

  it('ends a failing stream with the one error event, and gives its place back', async () => {
    const { app, caption, stub } = setup();
    caption.script = { tokens: ['a', 'red'], failAt: 1 };
    const res = await app.request('/v1/captions', post(form({ image: new Blob([await png()]), stream: 'true' })));
    expect(res.status).toBe(200);
    const events = sseEvents(await res.text()) as Record<string, unknown>[];
    expect(events.map((e) => e.type)).toEqual(['caption.token', 'error']);
    expect(events[1]).toEqual({ type: 'error', error: { message: expect.stringMatching(/^internal error: /), type: 'server_error', param: null, code: 'internal' } });
    expect(stub.admission.count('caption', 'stream')).toBe(0);
  });

  it.each([
    ['no image part', () => post(form({ model: 'caption' })), 400, 'image'],
    ['an image that is not one', () => post(form({ image: new Blob([new Uint8Array([1, 2, 3])]) })), 400, 'image'],
    ['an empty image', () => post(form({ image: new Blob([]) })), 400, 'image'],
    ['JSON without image', () => jsonInit({ model: 'caption' }), 400, 'image'],
    ['JSON base64 that is not base64', () => jsonInit({ image: '!!!' }), 400, 'image'],
    ['a web URL', () => jsonInit({ image: 'https://example.com/a.png' }), 400, 'image'],
    ['a body that is neither multipart nor JSON', () => post('image', 'text/plain'), 400, 'body'],
    ['a bad number field', () => post(form({ image: new Blob(['x']), top_k: 'many' })), 400, 'top_k'],
    ['a bad boolean field', () => post(form({ image: new Blob(['x']), stream: 'yes' })), 400, 'stream'],
    ["max_tokens over the model's limit", () => jsonInit({ image: PNG64, max_tokens: 100 }), 400, 'max_tokens'],
    ['a chat model', () => jsonInit({ image: 'AAAA', model: 'chat' }), 400, 'model'],
    ['an unknown model', () => jsonInit({ image: 'AAAA', model: 'nope' }), 404, 'model'],
  ] as const)("refuses %s in OpenAI's error shape naming the field", async (_, init, status, param) => {
    const { app, caption } = setup();
    const res = await app.request('/v1/captions', init());
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({
      error: { message: expect.any(String), type: status === 404 ? 'not_found_error' : 'invalid_request_error', param, code: status === 404 ? 'not_found' : 'invalid_argument' },
    });
    expect(caption.runs).toEqual([]);
  });

  it('refuses an image over --max-image-pixels with 413 before decoding it, and a body over --max-body-bytes with 413', async () => {
    const { app } = setup({ limits: { maxImagePixels: 100, maxBodyBytes: 4096 } });
    const big = await app.request('/v1/captions', post(form({ image: new Blob([await png(20, 20)]) })));
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({
      error: { message: expect.stringMatching(/20x20 is 400 pixels; the limit is 100/), type: 'invalid_request_error', param: 'image', code: 'payload_too_large' },
    });
    const body = await app.request('/v1/captions', post(form({ image: new Blob([new Uint8Array(8192)]) })));
    expect(body.status).toBe(413);
    expect((await body.json()).error).toMatchObject({ param: 'body', code: 'payload_too_large' });
  });
});

describe('OpenAI vision input on /v1/chat/completions', () => {
  it('answers an image_url data: URL with the caption model, as a chat.completion and as a stream', async () => {
    const { app } = setup();
    const url = `data:image/png;base64,${Buffer.from(await png()).toString('base64')}`;
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url } },
        ],
      },
    ];
    const res = await app.request('/v1/chat/completions', jsonInit({ messages }));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'caption',
      choices: [{ index: 0, message: { role: 'assistant', content: 'a red circle' }, finish_reason: 'stop' }],
    });
    expect(body.usage).toEqual({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 }); // 2x2 regions
    const stream = await app.request('/v1/chat/completions', jsonInit({ messages, stream: true }));
    const events = sseEvents(await stream.text());
    expect(events.at(-1)).toBe('[DONE]');
    expect(events[0]).toMatchObject({ object: 'chat.completion.chunk', model: 'caption' });
  });
});
