/**
 * Response shapes of the OpenAPI document, written from what the routes send: the OpenAI-compatible
 * ones name every field, the KServe ones follow the Open Inference Protocol, the server-sent-event
 * streams list their events. Errors come in two shapes (server/http/error-response.ts): KServe's
 * `{"error": "..."}` and OpenAI's `{"error": {message, type, param, code}}`; every stream ends a
 * failure with one error event in OpenAI's error object (server/http/sse.ts).
 */
import { ref, type Schema } from './request-schemas.ts';

const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer' };
const num: Schema = { type: 'number' };
const bool: Schema = { type: 'boolean' };
const arrayOf = (items: Schema): Schema => ({ type: 'array', items });
const obj = (properties: Record<string, Schema>, required: string[] = Object.keys(properties), extra: Schema = {}): Schema => ({ type: 'object', required, properties, ...extra });
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
const event = (type: string, properties: Record<string, Schema>, optional: string[] = []): Schema =>
  obj({ type: { const: type }, ...properties }, ['type', ...Object.keys(properties).filter((k) => !optional.includes(k))]);

const tokenLogprob = obj({ token: str, logprob: num, bytes: { ...arrayOf(int), description: 'UTF-8 bytes of token' } });
const tokenLogprobs = obj({ content: arrayOf(obj({ ...(tokenLogprob.properties as Record<string, Schema>), top_logprobs: arrayOf(tokenLogprob) })) });
const usage = obj({ prompt_tokens: int, completion_tokens: int, total_tokens: int });
const word = obj({ word: str, start: num, end: num, confidence: num }, ['word', 'start', 'end'], { description: 'times in seconds' });
const captionTokenFields = {
  token: str,
  logprob: num,
  top_logprobs: arrayOf(obj({ token: str, logprob: num })),
  attention: { ...arrayOf(num), description: 'over the image regions, row-major over attention_grid (with include_attention)' },
};
const tensorMeta = obj({ name: str, datatype: str, shape: { ...arrayOf(int), description: '-1 for a variable axis' } });
const speechQaResult = {
  transcript: { ...str, description: 'the story as recognised' },
  sentences: { ...arrayOf(str), description: 'one per pause' },
  question_text: str,
  answer: str,
  choices: arrayOf(str),
  choice_index: int,
  choice_scores: { ...arrayOf(num), description: 'summing to 1' },
  hops: { ...arrayOf(arrayOf(num)), description: 'per hop of the memory network, attention over sentences' },
};

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
  Model: obj({ id: str, object: { const: 'model' }, created: int, owned_by: str, task: { ...str, description: "seqserve extension: the model's task" } }),
  ModelList: obj({ object: { const: 'list' }, data: arrayOf(ref('Model')) }),
  ChatCompletion: obj({
    id: str,
    object: { const: 'chat.completion' },
    created: int,
    model: str,
    system_fingerprint: str,
    choices: arrayOf(
      obj(
        {
          index: int,
          message: obj({ role: { const: 'assistant' }, content: str, refusal: { type: 'null' } }),
          logprobs: { ...nullable(tokenLogprobs), description: 'with logprobs: true' },
          finish_reason: { enum: ['stop', 'length'] },
          attention: {
            ...obj({ source_tokens: arrayOf(str), output_tokens: arrayOf(str), weights: { ...arrayOf(arrayOf(num)), description: 'a row per output token over source_tokens' } }),
            description: 'seqserve extension, with include_attention',
          },
        },
        ['index', 'message', 'logprobs', 'finish_reason'],
      ),
    ),
    usage,
  }),
  ChatCompletionChunk: obj(
    {
      id: str,
      object: { const: 'chat.completion.chunk' },
      created: int,
      model: str,
      system_fingerprint: str,
      choices: {
        ...arrayOf(
          obj(
            {
              index: int,
              delta: obj({ role: { const: 'assistant' }, content: str }, []),
              logprobs: nullable(tokenLogprobs),
              finish_reason: { enum: ['stop', 'length', null] },
              source_tokens: { ...arrayOf(str), description: 'with include_attention, on the first chunk of each choice' },
              attention: { ...nullable(arrayOf(num)), description: "with include_attention: the token's row over source_tokens" },
            },
            ['index', 'delta', 'logprobs', 'finish_reason'],
          ),
        ),
        description: 'empty on the usage chunk',
      },
      usage: { ...usage, description: 'on the last chunk, with stream_options.include_usage' },
    },
    ['id', 'object', 'created', 'model', 'choices'],
  ),
  Transcription: obj({ text: str }),
  VerboseTranscription: obj({
    task: { const: 'transcribe' },
    language: str,
    duration: { ...num, description: 'seconds' },
    text: str,
    segments: arrayOf(obj({ id: int, start: num, end: num, text: str, confidence: num })),
    words: arrayOf(word),
  }),
  TranscriptionEvent: {
    oneOf: [
      event('transcript.text.delta', { delta: { ...str, description: 'a finished utterance, appended to the text' }, words: arrayOf(word) }),
      event('transcript.text.partial', { text: { ...str, description: 'seqserve extension: the utterance in progress, replaced by the next' } }),
      event('transcript.text.done', { text: str }),
      ref('StreamErrorEvent'),
    ],
  },

  // seqserve tasks
  SlotsResponse: obj({
    model: str,
    tokens: arrayOf(str),
    tags: { ...arrayOf(str), description: 'BIO tags, one per token' },
    slots: arrayOf(
      obj({
        name: str,
        value: str,
        start: { ...int, description: 'character offset into text' },
        end: int,
        confidence: { ...num, description: "mean CRF marginal of the span's tags" },
      }),
    ),
  }),
  Caption: obj(
    {
      id: str,
      object: { const: 'caption' },
      model: str,
      caption: str,
      finish_reason: { enum: ['stop', 'length'] },
      tokens: arrayOf(obj(captionTokenFields, ['token', 'logprob'])),
      attention_grid: { ...nullable(arrayOf(int)), description: 'rows, columns of the image regions (with include_attention)' },
      usage: obj({ completion_tokens: int }),
    },
    ['id', 'object', 'model', 'caption', 'finish_reason', 'tokens', 'usage'],
  ),
  CaptionEvent: {
    oneOf: [
      event('caption.token', { delta: str, ...captionTokenFields }, ['top_logprobs', 'attention']),
      event(
        'caption.done',
        { id: str, model: str, caption: str, finish_reason: { enum: ['stop', 'length'] }, attention_grid: nullable(arrayOf(int)), usage: obj({ completion_tokens: int }) },
        ['attention_grid'],
      ),
      ref('StreamErrorEvent'),
    ],
  },
  SpeechQaResult: obj({ model: str, ...speechQaResult }),
  SpeechQaEvent: {
    oneOf: [
      event('story.partial', { sentence: int, text: str }),
      event('story.sentence', { sentence: int, text: str }),
      event('question', { text: str, spoken: bool }),
      event('answer.token', { token: str, logprob: num }),
      event('result', { model: str, ...speechQaResult }),
      ref('StreamErrorEvent'),
    ],
  },

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
    parameters: { type: 'object', additionalProperties: str, description: 'task, role, execution_provider, states, max_shapes (JSON), graphs' },
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
  ModelStatus: obj({ name: str, version: str, state: { enum: ['ready', 'failed', 'unloaded', 'loading'] }, reason: { ...str, description: 'why it is not serving' } }, [
    'name',
    'version',
    'state',
  ]),
};
