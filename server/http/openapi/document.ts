/**
 * The OpenAPI 3.1 document of the HTTP API (served at `GET /openapi.json`): every REST route the app
 * registers — the server's own, here, and each task's, from its endpoints (server/tasks/<task>/server/
 * endpoints.ts) — with request bodies generated from the zod schemas the handlers parse with
 * (request-schemas.ts), the multipart forms the handlers read, response and stream shapes and the
 * error shape of each route's family, taken from the one error response (error-response.ts). test/openapi.test.ts fails when a route is registered without being
 * documented here. gRPC services are described by server reflection, not here.
 */
import { SERVER_NAME, SERVER_VERSION } from '../../context.ts';
import type { Limits } from '../../config.ts';
import { invalidArgument, SeqserveError, type ErrorCode } from '../../core/errors.ts';
import { isPublicPath } from '../../security/http-auth.ts';
import { errorBody } from '../error-response.ts';
import { OPENAI_ERROR_PATHS } from '../openai-error-paths.ts';
import { TASK_ENDPOINTS } from '../../service/task-endpoint-list.ts';
import { json, ok, type Operation, param, ref, type Schema, type TaskOpenApi, WORK_ERRORS } from './operation.ts';
import { jsonRequestSchemas } from './request-schemas.ts';
import { RESPONSE_SCHEMAS } from './response-schemas.ts';

export interface OpenApiOptions {
  limits: Limits;
  /** API keys are configured: every route but the public ones needs `authorization: Bearer <key>`. */
  apiKeys: boolean;
}

/** Names of the routes' wildcard segments (Hono `*`), by Hono path. */
const WILDCARD_PARAMS: Record<string, string> = { '/v1/models/:model/files/*': 'file' };

/** The document's path for a Hono route path: `:model` → `{model}`, a named wildcard → `{file}`. */
export function openApiPath(honoPath: string): string {
  const wildcard = WILDCARD_PARAMS[honoPath];
  return honoPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}').replace(/\/\*$/, wildcard ? `/{${wildcard}}` : '/*');
}

const ERRORS: Record<number, { code: ErrorCode; message: string; field?: string; description: string }> = {
  400: { code: 'invalid_argument', message: 'body: malformed JSON', field: 'body', description: "Bad input; the message (and `param`, in OpenAI's shape) names the field." },
  401: { code: 'unauthenticated', message: 'missing or invalid API key', description: 'API keys are configured and the request has no valid `authorization: Bearer <key>`.' },
  403: { code: 'permission_denied', message: 'loading a model needs an API key marked "admin"', description: 'The API key is not marked `admin`.' },
  404: { code: 'not_found', message: 'unknown model "nope"', field: 'model', description: 'Unknown model, graph or version.' },
  413: { code: 'payload_too_large', message: 'the body is over the limit of 16777216 bytes', description: 'The body is over `--max-body-bytes`.' },
  429: {
    code: 'resource_exhausted',
    message: 'too many requests for model "chat"',
    description: 'Over a limit on requests or streams open at once, or the run queue is full; retry after `Retry-After` seconds.',
  },
  500: { code: 'internal', message: 'the model failed to run', description: 'The model failed to run this request (never a stack trace).' },
  503: {
    code: 'unavailable',
    message: 'model "chat" is not serving: it failed to load',
    description: 'The model is not serving (failed to load, unloaded or loading; the message says why), or the server is shutting down.',
  },
  504: {
    code: 'deadline_exceeded',
    message: "the request took longer than the server's limit of 120 s",
    description: 'The request took longer than `--request-timeout`; its work was stopped.',
  },
};

const RETRY_AFTER: Schema = { description: 'Seconds after which a retry may succeed', schema: { type: 'integer' } };

/** The error response of `status` on `path`, in the shape of its family (KServe or OpenAI); `badInput` is the 400 example's field and message. */
function errorResponse(path: string, status: number, note?: string, badInput?: [string, string]): Schema {
  const e = ERRORS[status];
  const error = status === 400 && badInput ? invalidArgument(...badInput) : new SeqserveError(e.code, e.message, e.field ? { field: e.field } : {});
  const example = errorBody(path.replace(/\{[^}]+\}/g, 'x'), error, OPENAI_ERROR_PATHS) as { error: unknown };
  return {
    description: note ?? e.description,
    ...(status === 429 || status === 503 ? { headers: { 'Retry-After': RETRY_AFTER } } : {}),
    content: { 'application/json': { schema: ref(typeof example.error === 'string' ? 'KServeError' : 'OpenAIError'), example } },
  };
}

const model = param('model');
const version = param('version');
/** KServe's model routes, with and without a version: path, parameters, operationId suffix. */
const MODEL_PATHS: [string, Schema[], string][] = [
  ['/v2/models/{model}', [model], ''],
  ['/v2/models/{model}/versions/{version}', [model, version], 'Version'],
];

/** The server's own routes; the tasks add theirs. */
const SERVER_OPERATIONS: Operation[] = [
  // KServe v2 / Open Inference Protocol
  {
    method: 'get',
    path: '/v2/health/live',
    operationId: 'serverLive',
    tag: 'KServe v2',
    summary: 'Server liveness',
    responses: { 200: ok('Live', json({ type: 'object', required: ['live'], properties: { live: { type: 'boolean' } } })) },
    errors: [],
  },
  {
    method: 'get',
    path: '/v2/health/ready',
    operationId: 'serverReady',
    tag: 'KServe v2',
    summary: 'Server readiness (false while starting and shutting down)',
    responses: {
      200: ok('Ready', json({ type: 'object', required: ['ready'], properties: { ready: { const: true } } })),
      503: ok('Not ready', json({ type: 'object', required: ['ready', 'error'], properties: { ready: { const: false }, error: { type: 'string' } } })),
    },
    errors: [],
  },
  {
    method: 'get',
    path: '/v2',
    operationId: 'serverMetadata',
    tag: 'KServe v2',
    summary: 'Server metadata, extensions and execution providers',
    responses: { 200: ok('Server metadata', json(ref('ServerMetadata'))) },
    errors: [],
  },
  ...MODEL_PATHS.flatMap(([path, parameters, suffix]): Operation[] => {
    return [
      {
        method: 'get',
        path,
        operationId: `modelMetadata${suffix}`,
        tag: 'KServe v2',
        summary: 'Model (graph) metadata: inputs, outputs, versions, axis bounds, execution provider',
        description: 'Every ONNX graph is a model named `model.graph`; a model with one graph also answers to its own name.',
        parameters: parameters,
        responses: { 200: ok('Model metadata', json(ref('ModelMetadata'))) },
        errors: [404, 503],
      },
      {
        method: 'get',
        path: `${path}/ready`,
        operationId: `modelReady${suffix}`,
        tag: 'KServe v2',
        summary: 'Model readiness',
        parameters: parameters,
        responses: {
          200: ok('Ready', json(ref('ModelReady'))),
          503: ok('The model is not serving (`ready: false` and the reason), or the server is shutting down (an error)', json({ anyOf: [ref('ModelReady'), ref('KServeError')] })),
        },
        errors: [404],
      },
      {
        method: 'post',
        path: `${path}/infer`,
        operationId: `modelInfer${suffix}`,
        tag: 'KServe v2',
        summary: 'Run a graph',
        description:
          "JSON tensors, or the binary tensor extension: `Inference-Header-Content-Length: N`, a JSON header of N bytes whose inputs carry `parameters.binary_data_size`, then the raw little-endian tensors in input order. Binary outputs on request (`binary_data_output` / an output's `binary_data`).",
        parameters: [...parameters, param('InferenceHeaderContentLength')],
        body: {
          required: true,
          content: {
            ...json(ref('InferenceRequest')),
            'application/octet-stream': {
              schema: {
                type: 'string',
                contentMediaType: 'application/octet-stream',
                description: 'binary tensor extension: the JSON header (an InferenceRequest) then the tensors',
              },
            },
          },
        },
        responses: {
          200: ok(
            'The outputs',
            {
              ...json(ref('InferenceResponse')),
              'application/octet-stream': {
                schema: { type: 'string', contentMediaType: 'application/octet-stream', description: 'binary outputs: the JSON header (an InferenceResponse) then the tensors' },
              },
            },
            { headers: { 'Inference-Header-Content-Length': { description: 'Length of the JSON header, with binary outputs', schema: { type: 'integer' } } } },
          ),
        },
        errors: WORK_ERRORS,
        badInput: ['inputs[0].datatype', 'input "word_ids" takes INT64, not FP32'],
      },
    ];
  }),
  ...MODEL_PATHS.flatMap(([path, parameters, suffix]): Operation[] =>
    (['generate', 'generate_stream'] as const).map((kind) => ({
      method: 'post',
      path: `${path}/${kind}`,
      operationId: `model${kind === 'generate' ? 'Generate' : 'GenerateStream'}${suffix}`,
      tag: 'KServe v2',
      summary: kind === 'generate' ? "Triton's generate extension: text in, generated text out" : "Triton's generate extension, streamed: a response per generated piece",
      description: 'For models whose task generates text (chat). Unknown parameters are refused naming them.',
      parameters,
      body: { required: true, content: json(ref('GenerateRequest')) },
      responses: {
        200:
          kind === 'generate'
            ? ok('The whole text', json(ref('GenerateResponse')))
            : ok('Server-sent events', {
                'text/event-stream': {
                  schema: { oneOf: [ref('GenerateResponse'), ref('StreamErrorEvent')], description: 'each `data:` line one response; text_output is the piece' },
                },
              }),
      },
      errors: WORK_ERRORS,
      badInput: ['parameters.temperature', 'must be between 0 and 2'],
    })),
  ),
  {
    method: 'post',
    path: '/v2/repository/index',
    operationId: 'repositoryIndex',
    tag: 'KServe v2',
    summary: 'Every folder of the model repository, with its state and why it is not serving',
    responses: { 200: ok('The repository', json({ type: 'array', items: ref('ModelStatus') })) },
    errors: [],
  },
  ...(['load', 'unload'] as const).map((action): Operation => ({
    method: 'post',
    path: `/v2/repository/models/{model}/${action}`,
    operationId: `repositoryModel${action === 'load' ? 'Load' : 'Unload'}`,
    tag: 'KServe v2',
    summary: action === 'load' ? '(Re)load a model from disk (the previous version keeps serving if the new files are bad)' : 'Unload a model',
    description: 'Only with `--model-control explicit` (503 otherwise); with API keys, only keys marked `admin`.',
    parameters: [model],
    responses: { 200: ok("The model's state", json(ref('ModelStatus'))) },
    errors: [
      ...(action === 'load' ? [[400, "The model's files cannot be loaded (the message says why)."] as [number, string]] : []),
      403,
      404,
      [503, 'Model control is off (start the server with `--model-control explicit`), or the server is shutting down.'],
    ],
    badInput: ['model', 'model "slots" failed to load: manifest.json: graphs.tagger.file: no such file'],
  })),

  // OpenAI-compatible
  {
    method: 'get',
    path: '/v1/models',
    operationId: 'listModels',
    tag: 'OpenAI-compatible',
    summary: 'The ready models',
    responses: { 200: ok('Models', json(ref('ModelList'))) },
    errors: [],
  },
  {
    method: 'get',
    path: '/v1/models/{model}',
    operationId: 'retrieveModel',
    tag: 'OpenAI-compatible',
    summary: 'A model',
    parameters: [model],
    responses: { 200: ok('The model', json(ref('Model'))) },
    errors: [404, 503],
  },
  // model files, operations
  {
    method: 'get',
    path: '/v1/models/{model}/files/{file}',
    operationId: 'getModelFile',
    tag: 'Model files',
    summary: "A file of a model's folder (manifest, ONNX graphs, vocabularies) for clients that run the model themselves",
    parameters: [model, param('file'), param('IfNoneMatch')],
    responses: {
      200: ok(
        'The file, typed by its extension (application/json, application/x-ndjson, text/plain for .arpa, text/markdown, image/png, audio/wav; application/octet-stream for .onnx and the rest)',
        { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
        { headers: { ETag: { schema: { type: 'string' } }, 'Cache-Control': { schema: { type: 'string', const: 'public, no-cache' } } } },
      ),
      304: { description: 'Not modified (If-None-Match matched the ETag)' },
    },
    errors: [[404, 'No such model, or no such file in its folder (hidden files, `..` and links out of the folder are never served).']],
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'Server',
    summary: 'Prometheus metrics',
    responses: { 200: ok('Prometheus text format', { 'text/plain': { schema: { type: 'string' } } }) },
    errors: [],
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    tag: 'Server',
    summary: 'This document',
    responses: { 200: ok('OpenAPI 3.1', json({ type: 'object' })) },
    errors: [],
  },
];

const PARAMETERS: Record<string, Schema> = {
  model: { name: 'model', in: 'path', required: true, schema: { type: 'string' }, description: 'a model name; for KServe routes also `model.graph`' },
  version: { name: 'version', in: 'path', required: true, schema: { type: 'string' } },
  file: { name: 'file', in: 'path', required: true, schema: { type: 'string' }, description: "a path inside the model's folder; may contain `/` (e.g. `heldout-sample/000.png`)" },
  InferenceHeaderContentLength: {
    name: 'Inference-Header-Content-Length',
    in: 'header',
    required: false,
    schema: { type: 'integer', minimum: 0 },
    description: 'binary tensor extension: the length of the JSON header',
  },
  IfNoneMatch: { name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' } },
};

/** The OpenAPI 3.1 document of this server (its limits and whether it takes API keys). */
export function openApiDocument(options: OpenApiOptions): Record<string, unknown> {
  const tasks: TaskOpenApi[] = TASK_ENDPOINTS.flatMap(({ endpoints }) => (endpoints.openapi ? [endpoints.openapi(options.limits)] : []));
  const operations = [...SERVER_OPERATIONS, ...tasks.flatMap((t) => t.operations)];
  const paths: Record<string, Record<string, Schema>> = {};
  for (const op of operations) {
    const open = isPublicPath(op.path);
    const responses: Record<string, Schema> = { ...op.responses };
    const errors = new Map(op.errors.map((e) => (Array.isArray(e) ? e : [e, undefined])));
    if (options.apiKeys && !open) errors.set(401, undefined);
    if (!options.apiKeys) errors.delete(403); // without keys every request may administer
    // every route but the health checks answers 503 while the server shuts down
    if (!op.path.startsWith('/v2/health/') && !errors.has(503) && !responses[503]) errors.set(503, 'The server is shutting down.');
    for (const [status, note] of errors) responses[status] = errorResponse(op.path, status, note, op.badInput);
    const sorted = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
    (paths[op.path] ??= {})[op.method] = {
      operationId: op.operationId,
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      ...(op.parameters ? { parameters: op.parameters } : {}),
      ...(op.body ? { requestBody: op.body } : {}),
      responses: sorted,
      ...(options.apiKeys && open ? { security: [] } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: SERVER_NAME,
      version: SERVER_VERSION,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      description:
        'Inference server for sequence models: KServe v2 / Open Inference Protocol for every graph, OpenAI-compatible chat completions and transcriptions, image captions, spoken question answering and slot filling. ' +
        'Errors: KServe-style routes answer `{"error": "..."}`, OpenAI-compatible ones (and captions, spoken QA) `{"error": {message, type, param, code}}`. ' +
        'Every response carries `x-request-id`. gRPC (port 8001) is described by server reflection.',
    },
    tags: [
      { name: 'KServe v2', description: "Open Inference Protocol REST, with Triton's model-repository extension" },
      { name: 'OpenAI-compatible', description: 'Works with the official openai clients (`baseURL: http://host:8000/v1`)' },
      { name: 'Tasks', description: "seqserve's task endpoints" },
      { name: 'Model files', description: 'Model files for in-browser inference' },
      { name: 'Server', description: 'Metrics and this document' },
    ],
    paths,
    components: {
      schemas: { ...jsonRequestSchemas(tasks.flatMap((t) => t.jsonBodies ?? [])), ...Object.assign({}, ...tasks.map((t) => t.schemas ?? {})), ...RESPONSE_SCHEMAS },
      parameters: PARAMETERS,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from `--api-keys-file` / `SEQSERVE_API_KEYS`; needed only when the server is started with keys.' },
      },
    },
    ...(options.apiKeys ? { security: [{ apiKey: [] }] } : {}),
  };
}
