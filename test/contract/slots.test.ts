/**
 * Contract of `POST /v1/slots` over a stub context: the reply's shape, character offsets into the
 * text, errors naming the field, and request admission. Slot filling is seqserve's own API, not
 * an OpenAI one: its errors are `{"error": "field: reason"}` (server/http/error-response.ts,
 * OPENAI_PATHS). What the bundled tagger finds is test/slots-api.test.ts's business.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../server/http/app.ts';
import { jsonInit } from '../helpers/contract-http.ts';
import { FakeGenerationEngine, fakeSlotFiller } from '../helpers/fake-task-models.ts';
import { type StubOptions, stubContext } from '../helpers/stub-context.ts';

function setup(config: StubOptions['config'] = {}, gate?: () => Promise<void>) {
  const stub = stubContext({
    config,
    models: [
      { name: 'slots', task: 'slot-filling', taskModel: fakeSlotFiller(gate) },
      { name: 'slots_b', task: 'slot-filling', taskModel: fakeSlotFiller() },
      { name: 'chat', task: 'chat', taskModel: new FakeGenerationEngine().engine },
      { name: 'old', task: 'slot-filling', taskModel: fakeSlotFiller(), state: 'unloaded' },
    ],
  });
  return { app: createApp(stub.ctx), stub };
}

describe('POST /v1/slots', () => {
  it('answers the model, tokens, a tag per token, and slots with character offsets into the text', async () => {
    const { app } = setup();
    const text = 'fly to  Taipei on Monday';
    const res = await app.request('/v1/slots', jsonInit({ text }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body).toEqual({ model: 'slots', tokens: ['fly', 'to', 'Taipei', 'on', 'Monday'], tags: ['O', 'O', 'B-city', 'O', 'B-city'], slots: expect.any(Array) });
    for (const s of body.slots) {
      expect(s).toEqual({ name: expect.any(String), value: expect.any(String), start: expect.any(Number), end: expect.any(Number), confidence: expect.any(Number) });
      expect(text.slice(s.start, s.end)).toBe(s.value);
    }
    expect(body.slots.map((s: { value: string }) => s.value)).toEqual(['Taipei', 'Monday']);
    // the first ready slot-filling model by name, or the one asked for
    expect((await (await app.request('/v1/slots', jsonInit({ text, model: 'slots_b' }))).json()).model).toBe('slots_b');
  });

  it.each([
    ['a malformed body', '{"text": ', 400, /^body: malformed JSON/],
    ['no text', {}, 400, /^text: /],
    ['a text that is not a string', { text: 42 }, 400, /^text: must be a string/],
    ['an empty text', { text: '   ' }, 400, /^text: must not be empty/],
    ['a text over --max-text-chars', { text: 'x'.repeat(101) }, 400, /^text: must be at most 100 characters/],
    ['a model of another task', { text: 'hi', model: 'chat' }, 400, /"chat" is a chat model, not slot-filling/],
    ['an unknown model', { text: 'hi', model: 'nope' }, 404, /unknown model "nope"/],
    ['a model that is not serving', { text: 'hi', model: 'old' }, 503, /"old" is not serving: it is unloaded/],
  ])('refuses %s with {"error": "..."} naming the field', async (_, body, status, message) => {
    const { app } = setup({ limits: { maxTextChars: 100 } });
    const res = await app.request('/v1/slots', jsonInit(body));
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: expect.stringMatching(message) });
  });

  it('refuses a body over --max-body-bytes with 413', async () => {
    const { app } = setup({ limits: { maxBodyBytes: 64 } });
    const res = await app.request('/v1/slots', jsonInit({ text: 'x'.repeat(100) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'body: larger than the limit of 64 bytes' });
  });

  it('refuses a request over --max-requests with 429 and Retry-After while one runs, then takes requests again', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { app, stub } = setup({ limits: { maxRequestsPerModel: 1 } }, () => gate);
    const first = app.request('/v1/slots', jsonInit({ text: 'to Paris' }));
    await new Promise((r) => setTimeout(r, 10));
    expect(stub.admission.count('slots', 'request')).toBe(1);
    const refused = await app.request('/v1/slots', jsonInit({ text: 'to Paris' }));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({ error: expect.stringMatching(/"slots" has 1 requests open, its limit; retry later/) });
    expect((await app.request('/v1/slots', jsonInit({ text: 'to Paris', model: 'slots_b' }))).status).toBe(200); // limits are per model
    open();
    expect((await first).status).toBe(200);
    expect(stub.admission.count('slots', 'request')).toBe(0);
  });
});
