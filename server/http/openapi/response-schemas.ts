/**
 * Response shapes of the server's own routes in the OpenAPI document (each task adds its own): the
 * KServe ones follow the Open Inference Protocol, the model list is OpenAI's. Errors come in two shapes (server/http/error-response.ts): KServe's
 * `{"error": "..."}` and OpenAI's `{"error": {message, type, param, code}}`; every stream ends a
 * failure with one error event in OpenAI's error object (server/http/sse.ts).
 */
import { arrayOf, bool, event, int, nullable, obj, ref, type Schema, str } from './operation.ts';

const tensorMeta = obj({ name: str, datatype: str, shape: { ...arrayOf(int), description: '-1 for a variable axis' } });

export const RESPONSE_SCHEMAS: Record<string, Schema> = {
  // errors
  KServeError: obj({ error: { ...str, description: 'what was wrong, naming the field (e.g. `inputs[0].datatype: ...`)' } }),
  OpenAIErrorObject: obj({
    message: str,
    type: { type: 'string', enum: ['invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'rate_limit_error', 'server_error'] },
    param: { ...nullable(str), description: 'the field the error is about, e.g. `messages[0].role`' },
    code: { ...str, description: "seqserve's error code, e.g. `invalid_argument`, `not_found`, `resource_exhausted`" },
  }),
  OpenAIError: obj({ error: ref('OpenAIErrorObject') }),
  StreamErrorEvent: { ...event('error', { error: ref('OpenAIErrorObject') }), description: 'the last event of a stream that failed' },

  // OpenAI-compatible
  Model: obj(
    {
      id: str,
      object: { const: 'model' },
      created: int,
      owned_by: str,
      task: { ...str, description: "seqserve extension: the model's task" },
      knows: { type: 'object', additionalProperties: arrayOf(str), description: "seqserve extension: what the model knows by category (its manifest's `knows`), when stated" },
    },
    ['id', 'object', 'created', 'owned_by', 'task'],
  ),
  ModelList: obj({ object: { const: 'list' }, data: arrayOf(ref('Model')) }),
  // Triton's generate extension
  GenerateResponse: obj({ id: str, model_name: str, model_version: str, text_output: str }, ['model_name', 'model_version', 'text_output']),
  // KServe v2
  ServerMetadata: obj({
    name: str,
    version: str,
    extensions: arrayOf(str),
    execution_providers: {
      ...obj({ configured: arrayOf(str), unavailable: { type: 'object', additionalProperties: str, description: 'provider -> why it could not be loaded' } }),
      description: 'seqserve extension',
    },
  }),
  ModelMetadata: obj({
    name: { ...str, description: 'model.graph' },
    versions: arrayOf(str),
    platform: str,
    inputs: arrayOf(tensorMeta),
    outputs: arrayOf(tensorMeta),
    parameters: {
      type: 'object',
      additionalProperties: str,
      description: 'task, role, execution_provider, states, max_shapes (JSON), dynamic_batching (JSON), graphs; inferred_manifest (JSON) when the folder has no manifest.json',
    },
  }),
  ModelReady: obj({ name: str, ready: bool, error: { ...str, description: 'why the model is not serving' } }, ['name', 'ready']),
  InferenceResponse: obj(
    {
      model_name: str,
      model_version: str,
      id: str,
      outputs: arrayOf(
        obj(
          {
            name: str,
            datatype: str,
            shape: arrayOf(int),
            parameters: { type: 'object', description: '`binary_data_size` for a binary output; `non_finite` when NaN/Infinity are null in data' },
            data: { type: 'array', description: 'the tensor, flattened row-major (absent for a binary output)' },
          },
          ['name', 'datatype', 'shape'],
        ),
      ),
    },
    ['model_name', 'outputs'],
  ),
  ModelStatus: obj(
    {
      name: str,
      version: str,
      state: { enum: ['ready', 'failed', 'unloaded', 'loading'] },
      reason: { ...str, description: 'why it is not serving' },
      note: { ...str, description: 'said of a model that serves: its manifest was inferred from the graph (no manifest.json)' },
    },
    ['name', 'version', 'state'],
  ),
};
