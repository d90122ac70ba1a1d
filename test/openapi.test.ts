/**
 * The OpenAPI document (`GET /openapi.json`, server/http/openapi/): every route the app registers
 * is documented (a new route without documentation fails here), the document is valid OpenAPI 3.1,
 * its JSON request schemas accept and refuse what the handlers' zod schemas accept and refuse, and
 * the multipart forms name the fields the handlers read. Over a stub context: no model is loaded.
 */
import { validate } from '@readme/openapi-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CaptionJsonBody, CaptionOptions, captionOptionsFromForm } from '../server/tasks/caption/request.ts';
import { ChatCompletionRequest, Message } from '../server/tasks/chat/request.ts';
import { DEFAULT_CONFIG, type ServerConfig } from '../server/config.ts';
import type { ServerContext } from '../server/context.ts';
import { notFound, SeqserveError } from '../server/core/errors.ts';
import { createApp } from '../server/http/app.ts';
import { openApiDocument, openApiPath } from '../server/http/openapi/document.ts';
import { SlotsRequest } from '../server/tasks/slot-filling/server/http.ts';
import { RestInferRequest } from '../server/kserve/rest-codec.ts';

/** Routes the document leaves out on purpose, with the reason. */
const UNDOCUMENTED: Record<string, string> = {
  'GET /': 'the web demo page (HTML), not an API',
  'GET /sw.js': "the web demo's service worker",
  'GET /web/*': "the web demo's bundle and the browser client library (static files)",
  'GET /ort/*': "onnxruntime-web's wasm files for the demo (static files)",
};

type Doc = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }>; requestBody?: { content: Record<string, { schema: object }> } }>
  >;
  components: { schemas: Record<string, { required?: string[]; properties?: Record<string, Record<string, unknown>> }> };
  security?: unknown;
};

const KEY = 'sk-openapi-test-0123456789';
const limits = { ...DEFAULT_CONFIG.limits, maxTextChars: 321 };

/** A context with no models: routes that need one answer not_found; enough to build the app and reach the handlers' first checks. */
function stubContext(overrides: Partial<ServerConfig> = {}): ServerContext {
  const missing = (name: string) => {
    throw notFound(`unknown model "${name}"`, 'model');
  };
  return {
    config: { ...DEFAULT_CONFIG, limits, ...overrides },
    repository: { model: missing, graph: missing, readyModels: () => [], list: async () => [] },
    log: pino({ level: 'silent' }),
    ready: () => true,
  } as unknown as ServerContext;
}

const app = createApp(stubContext());
const doc = openApiDocument({ limits, apiKeys: false }) as unknown as Doc;

/** Ajv over the whole document, so `#/components/schemas/...` references resolve; strict: unknown keywords in a schema fail. */
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addVocabulary(['openapi', 'info', 'tags', 'paths', 'components', 'security']);
ajv.addSchema({ ...doc, $id: 'openapi.json' });
const component = (name: string): ValidateFunction => ajv.getSchema(`openapi.json#/components/schemas/${name}`)!;
/** A validator for a schema that sits in the document (a response's or a body's). */
const inDocument = (schema: object): ValidateFunction => ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/')));

const registered = () => [...new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`))];

describe('OpenAPI document: coverage', () => {
  it('documents every route the app registers, and no route it does not', () => {
    const routes = registered();
    const missing = routes
      .filter((r) => !(r in UNDOCUMENTED))
      .filter((r) => {
        const [method, path] = r.split(' ');
        return doc.paths[openApiPath(path)]?.[method.toLowerCase()] === undefined;
      });
    expect(missing, 'routes without OpenAPI documentation: add them to server/http/openapi/document.ts').toEqual([]);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const served = new Set(routes.map((r) => `${r.split(' ')[0]} ${openApiPath(r.split(' ')[1])}`));
    expect(
      documented.filter((d) => !served.has(d)),
      'documented operations the app does not serve',
    ).toEqual([]);
    // the exclusions are real routes (a stale entry would hide nothing and mislead)
    for (const r of Object.keys(UNDOCUMENTED)) expect(routes).toContain(r);
    expect(documented.length).toBeGreaterThanOrEqual(22);
  });

  it('maps Hono paths to OpenAPI paths', () => {
    expect(openApiPath('/v2/models/:model/versions/:version/infer')).toBe('/v2/models/{model}/versions/{version}/infer');
    expect(openApiPath('/v1/models/:model/files/*')).toBe('/v1/models/{model}/files/{file}');
    expect(openApiPath('/unnamed/*')).toBe('/unnamed/*'); // a wildcard nobody named stays unmatched, so the coverage test fails
  });
});

describe('OpenAPI document: structure', () => {
  it('is valid OpenAPI 3.1, with and without API keys', async () => {
    for (const apiKeys of [false, true]) {
      const result = await validate(structuredClone(openApiDocument({ limits, apiKeys })) as never);
      expect(result.valid ? [] : result.errors).toEqual([]);
      expect(result.warnings).toEqual([]);
    }
    expect((doc as unknown as { openapi: string }).openapi).toMatch(/^3\.1\./);
  });

  it('holds schemas that compile as JSON Schema 2020-12 in strict mode', () => {
    for (const name of Object.keys(doc.components.schemas)) expect(component(name), name).toBeTypeOf('function');
  });

  it('is served at GET /openapi.json without an API key, like the health checks', async () => {
    const locked = createApp(stubContext({ apiKeys: [KEY] }));
    const res = await locked.request('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const served = (await res.json()) as Doc;
    expect(served).toEqual(openApiDocument({ limits, apiKeys: true }));
    expect((await locked.request('/metrics')).status).toBe(401); // the keys are on
    // with keys, the document says so: bearer security everywhere but the public routes, and 401s
    expect(served.security).toEqual([{ apiKey: [] }]);
    expect(served.paths['/v1/chat/completions'].post.responses['401']).toBeDefined();
    expect(served.paths['/v2/health/ready'].get).toMatchObject({ security: [] });
    expect(served.paths['/openapi.json'].get).toMatchObject({ security: [] });
    expect(served.paths['/v2/repository/models/{model}/load'].post.responses['403']).toBeDefined();
    // without keys: no security requirement, no 401 or 403
    expect(doc.security).toBeUndefined();
    expect(doc.paths['/v1/chat/completions'].post.responses['401']).toBeUndefined();
    expect(doc.paths['/v2/repository/models/{model}/load'].post.responses['403']).toBeUndefined();
  });

  it('names path parameters as the routes do', () => {
    const infer = doc.paths['/v2/models/{model}/versions/{version}/infer'].post as unknown as { parameters: { $ref: string }[] };
    expect(infer.parameters.map((p) => p.$ref)).toEqual([
      '#/components/parameters/model',
      '#/components/parameters/version',
      '#/components/parameters/InferenceHeaderContentLength',
    ]);
  });

  it('documents streaming routes with text/event-stream', () => {
    for (const path of ['/v1/chat/completions', '/v1/audio/transcriptions', '/v1/captions', '/v1/speech-qa']) {
      expect(Object.keys(doc.paths[path].post.responses['200'].content!), path).toContain('text/event-stream');
    }
  });
});

/** Keys a zod object requires (those that cannot be left out). */
const zodRequired = (schema: z.ZodObject) =>
  Object.entries(schema.shape)
    .filter(([, s]) => !(s as z.ZodType).safeParse(undefined).success)
    .map(([k]) => k)
    .sort();

describe('OpenAPI document: request schemas are the zod schemas', () => {
  const objects: [string, z.ZodObject][] = [
    ['ChatCompletionRequest', ChatCompletionRequest],
    ['ChatMessage', Message],
    ['CaptionRequest', CaptionJsonBody],
    ['SlotsRequest', SlotsRequest(limits.maxTextChars)],
    ['InferenceRequest', RestInferRequest],
  ];

  it('has the same properties and required fields', () => {
    for (const [name, schema] of objects) {
      const documented = doc.components.schemas[name];
      expect(Object.keys(documented.properties!).sort(), name).toEqual(Object.keys(schema.shape).sort());
      expect([...(documented.required ?? [])].sort(), name).toEqual(zodRequired(schema));
    }
    expect(doc.components.schemas.ChatCompletionRequest.required).toContain('messages');
    expect(doc.components.schemas.ChatMessage.properties!.role.enum).toEqual(Message.shape.role.options);
    expect(doc.components.schemas.SlotsRequest.properties!.text.maxLength).toBe(limits.maxTextChars);
  });

  const valid = {
    model: 'chat',
    messages: [
      { role: 'system', content: 'be brief' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'fly to tokyo' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } },
        ],
      },
    ],
    max_tokens: 8,
    temperature: 0.5,
    top_p: 0.9,
    top_k: 5,
    n: 2,
    stop: ['.'],
    seed: 3,
    logprobs: true,
    top_logprobs: 2,
    stream: true,
    stream_options: { include_usage: true },
    include_attention: true,
    beam_width: 2,
    length_penalty: 0.6,
    repetition_penalty: 1.1,
  };

  it('accepts a valid chat request and refuses what zod refuses', () => {
    const chat = component('ChatCompletionRequest');
    expect(chat(valid), JSON.stringify(chat.errors)).toBe(true);
    expect(chat({ messages: [{ role: 'user', content: 'hi' }] })).toBe(true);
    const bad: object[] = [
      {},
      { ...valid, messages: [] },
      { ...valid, messages: [{ role: 'robot', content: 'hi' }] },
      { ...valid, messages: [{ role: 'user' }] },
      { ...valid, temperature: 2.5 },
      { ...valid, top_p: 0 },
      { ...valid, n: 9 },
      { ...valid, max_tokens: 0 },
      { ...valid, max_tokens: 1.5 },
      { ...valid, stop: ['a', 'b', 'c', 'd', 'e'] },
      { ...valid, top_logprobs: 21 },
      { ...valid, beam_width: 17 },
      { ...valid, model: '' },
      { ...valid, stream: 'yes' },
    ];
    for (const body of bad) {
      expect(ChatCompletionRequest.safeParse(body).success, JSON.stringify(body)).toBe(false);
      expect(chat(body), JSON.stringify(body)).toBe(false);
    }
  });

  it('agrees with zod on mutated requests of every JSON endpoint', () => {
    const samples: [string, z.ZodType, Record<string, unknown>][] = [
      ['ChatCompletionRequest', ChatCompletionRequest, valid],
      [
        'CaptionRequest',
        CaptionJsonBody,
        { image: 'data:image/png;base64,AA==', max_tokens: 6, temperature: 0, top_k: 3, include_attention: true, stream: false, beam_width: 2, seed: 1 },
      ],
      ['SlotsRequest', SlotsRequest(limits.maxTextChars), { text: 'fly to denver', model: 'slots' }],
      [
        'InferenceRequest',
        RestInferRequest,
        { id: 'x', inputs: [{ name: 'a', datatype: 'INT64', shape: [1, 2], data: [1, 2] }], outputs: [{ name: 'b', parameters: { binary_data: true } }] },
      ],
    ];
    for (const [name, schema, sample] of samples) {
      const check = component(name);
      expect(check(sample), `${name}: ${JSON.stringify(check.errors)}`).toBe(true);
      const field = fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.integer({ min: -3, max: 30 }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.constantFrom(null, '', 'x'.repeat(limits.maxTextChars + 1)),
      );
      const mutated = fc.record(Object.fromEntries(Object.entries(sample).map(([k, v]) => [k, fc.oneof(fc.constant(v), field)])), { requiredKeys: [] });
      fc.assert(
        fc.property(mutated, (body) => {
          expect(check(body), `${name} ${JSON.stringify(body)}`).toBe(schema.safeParse(body).success);
        }),
        { seed: 20260517, numRuns: 300 },
      );
    }
  });
});

describe('OpenAPI document: multipart forms are what the handlers read', () => {
  const properties = (name: string) => doc.components.schemas[name].properties!;

  it("caption form: the image (or a video model's frames) and every JSON option, each read from its text field", () => {
    const fields = properties('CaptionForm');
    expect(Object.keys(fields).sort()).toEqual(['image', 'frames', ...Object.keys(CaptionOptions.shape)].sort());
    for (const [name, schema] of Object.entries(fields)) {
      if (name === 'image' || name === 'frames' || name === 'model') continue;
      const form = new FormData();
      form.set(name, 'not-a-value');
      // the form reader reads the field (a non-number / non-boolean is refused naming it)
      expect(() => captionOptionsFromForm(form), name).toThrow(expect.objectContaining({ field: name }));
      const ok = new FormData();
      ok.set(name, schema.type === 'boolean' ? 'true' : String(schema.minimum ?? 1));
      expect(() => captionOptionsFromForm(ok), name).not.toThrow();
    }
    expect(doc.paths['/v1/captions'].post.requestBody!.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CaptionRequest' });
  });

  const post = (path: string, form: FormData) => app.request(path, { method: 'POST', body: form });
  const wav = () => new Blob([new Uint8Array(44)], { type: 'audio/wav' });
  const param = async (res: Response) => ((await res.json()) as { error: { param: string } }).error.param;

  it('transcription form: file is required, response_format and stream are the documented enums', async () => {
    const fields = properties('TranscriptionForm');
    expect(doc.components.schemas.TranscriptionForm.required).toEqual(['file']);
    expect(await param(await post('/v1/audio/transcriptions', new FormData()))).toBe('file');
    for (const [field, enumeration] of [
      ['response_format', fields.response_format.enum],
      ['stream', fields.stream.enum],
    ] as [string, string[]][]) {
      const bad = new FormData();
      bad.set('file', wav());
      bad.set(field, 'nope');
      const res = await post('/v1/audio/transcriptions', bad);
      expect(res.status).toBe(400);
      expect(await param(res)).toBe(field);
      for (const value of enumeration) {
        const good = new FormData();
        good.set('file', wav());
        good.set(field, value);
        // past the field's check: the stub has no speech model
        expect((await post('/v1/audio/transcriptions', good)).status, `${field}=${value}`).toBe(404);
      }
    }
  });

  it('spoken-QA form: story is a file part, stream is true or false', async () => {
    expect(Object.keys(properties('SpeechQaForm')).sort()).toEqual(['choices[]', 'model', 'question', 'recognizer', 'story', 'stream']);
    const textStory = new FormData();
    textStory.set('story', 'once upon a time');
    expect(await param(await post('/v1/speech-qa', textStory))).toBe('story');
    const badStream = new FormData();
    badStream.set('stream', 'maybe');
    expect(await param(await post('/v1/speech-qa', badStream))).toBe('stream');
  });
});

describe('OpenAPI document: error shapes', () => {
  const documented = (path: string, method: string, status: number) => inDocument(doc.paths[path][method].responses[String(status)].content!['application/json'].schema);

  it('documents the error body each route family answers with', async () => {
    const cases: [string, string, string, RequestInit, number][] = [
      ['/v1/chat/completions', 'post', '/v1/chat/completions', { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } }, 400],
      ['/v1/slots', 'post', '/v1/slots', { method: 'POST', body: '{"text": 5}', headers: { 'content-type': 'application/json' } }, 400],
      ['/v1/captions', 'post', '/v1/captions', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }, 400],
      ['/v1/models/{model}', 'get', '/v1/models/nope', {}, 404],
      ['/v2/models/{model}', 'get', '/v2/models/nope', {}, 404],
      ['/v2/models/{model}/versions/{version}/infer', 'post', '/v2/models/nope/versions/1/infer', { method: 'POST', body: '{}' }, 404],
      ['/v2/repository/models/{model}/load', 'post', '/v2/repository/models/nope/load', { method: 'POST' }, 503],
    ];
    for (const [path, method, url, init, status] of cases) {
      const res = await app.request(url, init);
      expect(res.status, url).toBe(status);
      const check = documented(path, method, status);
      const body: unknown = await res.json();
      expect(check(body), `${url}: ${JSON.stringify(body)} ${JSON.stringify(check.errors)}`).toBe(true);
    }
    // the two families are told apart
    expect(documented('/v1/chat/completions', 'post', 400)({ error: 'text' })).toBe(false);
    expect(documented('/v2/models/{model}', 'get', 404)({ error: { message: 'x', type: 'not_found_error', param: null, code: 'not_found' } })).toBe(false);
  });

  it('documents the stream error event as the sse adapter writes it', async () => {
    const { streamErrorData } = await import('../server/http/sse.ts');
    expect(component('StreamErrorEvent')(JSON.parse(streamErrorData(new SeqserveError('invalid_argument', 'x: bad', { field: 'x' }))))).toBe(true);
  });

  it('answers the documented success shapes of the routes that need no model', async () => {
    for (const [path, url] of [
      ['/v2/health/live', '/v2/health/live'],
      ['/v2/health/ready', '/v2/health/ready'],
      ['/v1/models', '/v1/models'],
      ['/v2/repository/index', '/v2/repository/index'],
    ]) {
      const method = path === '/v2/repository/index' ? 'post' : 'get';
      const res = await app.request(url, { method: method.toUpperCase() });
      expect(res.status, url).toBe(200);
      const check = documented(path, method, 200);
      const body: unknown = await res.json();
      expect(check(body), `${url}: ${JSON.stringify(check.errors)}`).toBe(true);
    }
  });
});
