/**
 * The responses of a running server (every bundled model loaded) match the OpenAPI document: each
 * JSON body against the schema documented for its route, status and content type, and each
 * server-sent event of the streaming routes against the documented event schema.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { openApiPath } from '../server/http/openapi/document.ts';
import { slotTaggerInputs } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>> };

let server: Awaited<ReturnType<typeof startTestServer>>;
let doc: Doc;
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addVocabulary(['openapi', 'info', 'tags', 'paths', 'components', 'security']);

beforeAll(async () => {
  server = await startTestServer();
  doc = (await (await fetch(`${server.http}/openapi.json`)).json()) as Doc;
  ajv.addSchema({ ...doc, $id: 'openapi.json' });
});
afterAll(async () => {
  await server?.close();
});

const validators = new Map<string, ValidateFunction>();
/** The documented schema of `route`'s response with this status and media type. */
function documented(route: string, status: number, mediaType: string): ValidateFunction {
  const [method, honoPath] = route.split(' ');
  const key = `${route} ${status} ${mediaType}`;
  if (!validators.has(key)) {
    const schema = doc.paths[openApiPath(honoPath)]?.[method.toLowerCase()]?.responses[String(status)]?.content?.[mediaType]?.schema;
    if (!schema) throw new Error(`no ${mediaType} schema documented for ${key}`);
    validators.set(key, ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/'))));
  }
  return validators.get(key)!;
}

/** Sends the request and checks the reply against the document; returns the parsed JSON bodies (one per event for a stream). */
async function call(route: string, url: string, init: RequestInit = {}, status = 200): Promise<unknown[]> {
  const res = await fetch(`${server.http}${url}`, { method: route.split(' ')[0], ...init });
  const text = await res.text();
  expect(res.status, `${url}: ${text.slice(0, 300)}`).toBe(status);
  const type = (res.headers.get('content-type') ?? '').split(';')[0];
  const content = doc.paths[openApiPath(route.split(' ')[1])][route.split(' ')[0].toLowerCase()].responses[String(status)].content!;
  if (!content[type]) {
    expect(Object.keys(content), `${url} answered ${type}`).toContain('*/*'); // any type, e.g. a model file
    return [];
  }
  const bodies =
    type === 'text/event-stream'
      ? text
          .split('\n\n')
          .filter(Boolean)
          .map((e) => e.replace(/^data: /, ''))
          .filter((d) => d !== '[DONE]')
          .map((d) => JSON.parse(d) as unknown)
      : [JSON.parse(text) as unknown];
  const check = documented(route, status, type);
  for (const body of bodies) expect(check(body), `${url} ${JSON.stringify(body).slice(0, 300)}: ${JSON.stringify(check.errors)}`).toBe(true);
  return bodies;
}

const json = (body: unknown): RequestInit => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const form = (fields: Record<string, string | Blob | string[]>): RequestInit => {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) f.append(k, x);
  return { body: f };
};
const file = (model: string, name: string, type: string) => new Blob([readFileSync(path.join(BUNDLED_MODELS_DIR, model, name))], { type });
const messages = [{ role: 'user', content: 'i want to fly from taipei to tokyo' }];

describe('responses match the OpenAPI document', () => {
  it('chat completions, plain and streamed, with every optional part', async () => {
    const route = 'POST /v1/chat/completions';
    const [reply] = (await call(route, '/v1/chat/completions', json({ messages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 2, include_attention: true }))) as {
      choices: { attention: unknown }[];
    }[];
    expect(reply.choices[0].attention).toBeDefined();
    await call(route, '/v1/chat/completions', json({ messages, max_tokens: 4, beam_width: 2, n: 2 }));
    const chunks = await call(
      route,
      '/v1/chat/completions',
      json({ messages, max_tokens: 4, temperature: 0, stream: true, stream_options: { include_usage: true }, logprobs: true, include_attention: true }),
    );
    expect(chunks.length).toBeGreaterThan(3);
    await call(route, '/v1/chat/completions', json({ messages, max_tokens: 4, stream: true }));
    await call(route, '/v1/chat/completions', json({ messages: [{ role: 'robot', content: 'x' }] }), 400);
    await call(route, '/v1/chat/completions', json({ model: 'nope', messages }), 404);
  });

  it('models, model files, metrics', async () => {
    await call('GET /v1/models', '/v1/models');
    await call('GET /v1/models/:model', '/v1/models/chat');
    await call('GET /v1/models/:model/files/*', '/v1/models/slots/files/manifest.json');
    await call('GET /v1/models/:model/files/*', '/v1/models/slots/files/nope.json', {}, 404);
    const metrics = await fetch(`${server.http}/metrics`);
    expect(Object.keys(doc.paths['/metrics'].get.responses['200'].content!)).toContain(metrics.headers.get('content-type')!.split(';')[0]);
  });

  it('transcriptions: json, verbose_json, stream', async () => {
    const route = 'POST /v1/audio/transcriptions';
    const wav = () => file('asr', 'heldout-sample/000.wav', 'audio/wav');
    await call(route, '/v1/audio/transcriptions', form({ file: wav() }));
    await call(route, '/v1/audio/transcriptions', form({ file: wav(), response_format: 'verbose_json', hotwords: ['taipei', 'new york'], decoder: 'beam' }));
    const events = (await call(route, '/v1/audio/transcriptions', form({ file: wav(), stream: 'true' }))) as { type: string }[];
    expect(events.at(-1)!.type).toBe('transcript.text.done');
    await call(route, '/v1/audio/transcriptions', form({ file: wav(), response_format: 'xml' }), 400);
  });

  it('captions: multipart and JSON, plain and streamed', async () => {
    const route = 'POST /v1/captions';
    const png = () => file('caption', 'heldout-sample/000.png', 'image/png');
    await call(route, '/v1/captions', form({ image: png(), include_attention: 'true', top_logprobs: '2' }));
    await call(route, '/v1/captions', json({ image: readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', '000.png')).toString('base64'), beam_width: 2 }));
    const events = (await call(route, '/v1/captions', form({ image: png(), stream: 'true', include_attention: 'true' }))) as { type: string }[];
    expect(events.at(-1)!.type).toBe('caption.done');
    await call(route, '/v1/captions', form({ image: png(), top_k: 'many' }), 400);
  });

  it('OCR lines: one line (multipart), several (JSON), refused', async () => {
    const route = 'POST /v1/ocr/lines';
    const png = readFileSync(path.join(BUNDLED_MODELS_DIR, 'caption', 'heldout-sample', '000.png'));
    await call(route, '/v1/ocr/lines', form({ image: new Blob([png], { type: 'image/png' }), decoding: 'beam' }));
    await call(route, '/v1/ocr/lines', json({ image: [png.toString('base64'), png.toString('base64')] }));
    await call(route, '/v1/ocr/lines', json({ image: 'not base64!' }), 400);
  });

  it('slots and spoken QA', async () => {
    await call('POST /v1/slots', '/v1/slots', json({ text: 'I would like to arrive Taipei on November 2nd' }));
    await call('POST /v1/slots', '/v1/slots', json({ text: 5 }), 400);
    const route = 'POST /v1/speech-qa';
    const story = () => file('asr', 'heldout-sample/001.wav', 'audio/wav');
    await call(route, '/v1/speech-qa', form({ story: story(), question: 'where is mary', 'choices[]': ['the kitchen', 'the garden'] }));
    const events = (await call(route, '/v1/speech-qa', form({ story: story(), question: 'where is mary', 'choices[]': ['the kitchen', 'the garden'], stream: 'true' }))) as {
      type: string;
    }[];
    expect(events.at(-1)!.type).toBe('result');
    await call(route, '/v1/speech-qa', form({ story: story(), question: 'where is mary', 'choices[]': ['the kitchen'] }), 400);
  });

  it('KServe v2: health, metadata, ready, infer, repository', async () => {
    await call('GET /v2/health/live', '/v2/health/live');
    await call('GET /v2/health/ready', '/v2/health/ready');
    await call('GET /v2', '/v2');
    await call('GET /v2/models/:model', '/v2/models/slots');
    await call('GET /v2/models/:model/versions/:version', '/v2/models/chat.decoder/versions/1');
    await call('GET /v2/models/:model/ready', '/v2/models/slots/ready');
    await call('GET /v2/models/:model/versions/:version/ready', '/v2/models/slots/versions/1/ready');
    const inputs = slotTaggerInputs('fly from boston to denver on monday');
    await call('POST /v2/models/:model/infer', '/v2/models/slots/infer', json({ id: 'a', inputs }));
    await call('POST /v2/models/:model/versions/:version/infer', '/v2/models/slots/versions/1/infer', json({ inputs, outputs: [{ name: 'emissions' }] }));
    await call('POST /v2/models/:model/infer', '/v2/models/slots/infer', json({ inputs: [{ ...inputs[0], datatype: 'FP32' }] }), 400);
    await call('GET /v2/models/:model', '/v2/models/nope', {}, 404);
    await call('POST /v2/repository/index', '/v2/repository/index');
    await call('POST /v2/repository/models/:model/load', '/v2/repository/models/slots/load', {}, 503);
  });
});
