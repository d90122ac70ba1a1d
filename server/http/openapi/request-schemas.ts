/**
 * Request bodies of the OpenAPI document, from the zod schemas the handlers parse with (JSON bodies,
 * through zod's own JSON Schema output), and the multipart forms, which the handlers read field by
 * field: written here from the same constants and schemas those readers check against.
 */
import { z } from 'zod';
import { CaptionJsonBody, CaptionOptions } from '../../tasks/caption/request.ts';
import { ChatCompletionRequest, Message } from '../../tasks/chat/request.ts';
import { MAX_CHOICE_CHARS, MAX_CHOICES } from '../../core/qa/choice-scores.ts';
import { RestInferRequest } from '../../kserve/rest-codec.ts';
import { MAX_QUESTION_CHARS } from '../../speech-qa/speech-qa-request.ts';
import { SlotsRequest } from '../routes/slots.ts';
import { FORMATS, MAX_HOTWORD_CHARS, MAX_HOTWORDS } from '../routes/transcriptions.ts';

/** A JSON Schema (2020-12, OpenAPI 3.1's dialect). */
export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** Per-field notes added to the generated schemas (the zod schemas carry the constraints). */
const NOTES: Record<string, Record<string, string>> = {
  ChatCompletionRequest: {
    model: 'a chat model (default: the first ready one); a caption model answers a message with an image part',
    messages: "system and developer turns are accepted and not fed to the model; the most recent tokens up to the model's source limit are",
    max_tokens: "at most the model's generation.maxNewTokens (its default)",
    max_completion_tokens: 'as max_tokens; wins over it',
    temperature: '0 = greedy; default 1',
    stop: 'up to 4 strings; never emitted',
    seed: 'same seed, same output',
    top_logprobs: 'needs logprobs: true',
    stream: 'server-sent events: a chunk per token, then `data: [DONE]`',
    presence_penalty: 'accepted and ignored (use repetition_penalty)',
    frequency_penalty: 'accepted and ignored (use repetition_penalty)',
    top_k: 'seqserve extension; 0 = off',
    repetition_penalty: 'seqserve extension',
    beam_width: 'seqserve extension: beam search (the n best beams; n <= beam_width)',
    length_penalty: 'seqserve extension: GNMT length penalty of beam search (default 0.6)',
    include_attention: 'seqserve extension: each choice carries attention weights over the source tokens',
  },
  CaptionRequest: {
    image: 'PNG, JPEG, WebP or GIF: base64, or a data: URL',
    temperature: '0 = greedy (the default)',
    beam_width: 'beam search',
    include_attention: 'each token carries attention over the image regions (row-major over attention_grid)',
    stream: 'server-sent events: caption.token per token, then caption.done',
  },
  SlotsRequest: { model: 'a slot-filling model (default: the first ready one)' },
  InferenceRequest: {
    parameters: '`binary_data_output: true` asks for every output in the binary tensor extension',
  },
};

function withNotes(id: string, schema: Schema): Schema {
  const notes = NOTES[id];
  const properties = schema.properties as Record<string, Schema> | undefined;
  if (!notes || !properties) return schema;
  return { ...schema, properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, notes[k] ? { ...v, description: notes[k] } : v])) };
}

/** The JSON request bodies, by component name: zod's JSON Schema of each handler's schema. */
export function jsonRequestSchemas(limits: { maxTextChars: number }): Record<string, Schema> {
  const registry = z.registry<{ id: string }>();
  registry.add(ChatCompletionRequest, { id: 'ChatCompletionRequest' });
  registry.add(Message, { id: 'ChatMessage' });
  registry.add(CaptionJsonBody, { id: 'CaptionRequest' });
  registry.add(SlotsRequest(limits.maxTextChars), { id: 'SlotsRequest' });
  registry.add(RestInferRequest, { id: 'InferenceRequest' });
  const { schemas } = z.toJSONSchema(registry, { io: 'input', uri: (id) => `#/components/schemas/${id}` });
  // each schema comes with its own $schema and an $id that only repeats where it sits in the document
  return Object.fromEntries(
    Object.entries(schemas).map(([id, s]) => {
      const { $schema: _dialect, $id: _id, ...schema } = s as Schema;
      return [id, withNotes(id, schema)];
    }),
  );
}

/** A nullable JSON field as a form field: null is not a value a text field can have. */
function withoutNull(schema: Schema): Schema {
  if (Array.isArray(schema.anyOf)) {
    const rest = (schema.anyOf as Schema[]).filter((s) => s.type !== 'null');
    const { anyOf: _anyOf, ...others } = schema;
    return rest.length === 1 ? { ...others, ...rest[0] } : { ...others, anyOf: rest };
  }
  if (Array.isArray(schema.type)) {
    const types = (schema.type as string[]).filter((t) => t !== 'null');
    return { ...schema, type: types.length === 1 ? types[0] : types };
  }
  return schema;
}

const TEXT_FIELDS = 'Numbers and booleans are text fields ("0.5", "true") converted and then checked as in JSON.';

/** The multipart/form-data bodies, by component name, with the field names and checks of their handlers. */
export function formRequestSchemas(): Record<string, Schema> {
  const caption = withNotes('CaptionRequest', z.toJSONSchema(CaptionOptions, { io: 'input' }) as Schema);
  const captionFields = Object.fromEntries(Object.entries(caption.properties as Record<string, Schema>).map(([k, v]) => [k, withoutNull(v)]));
  return {
    TranscriptionForm: {
      type: 'object',
      description: 'OpenAI-compatible transcription request; `decoder` and `hotwords` are seqserve extensions.',
      required: ['file'],
      properties: {
        file: { type: 'string', contentMediaType: 'audio/wav', description: 'WAV: PCM 8-32 bit or float, 8-48 kHz, mono or stereo; at most --max-audio-seconds' },
        model: { type: 'string', description: 'a speech-recognition model (default: the first ready one)' },
        response_format: { type: 'string', enum: [...FORMATS], default: 'json' },
        stream: { type: 'string', enum: ['true', 'false'], default: 'false', description: 'server-sent events transcript.text.partial / .delta / .done' },
        decoder: { type: 'string', enum: ['greedy', 'beam'], description: "default: the model manifest's decoding.beam" },
        hotwords: {
          type: 'array',
          maxItems: MAX_HOTWORDS,
          items: { type: 'string', maxLength: MAX_HOTWORD_CHARS },
          description: 'phrases favoured by the beam; a repeated field (`hotwords[]` works too)',
        },
      },
    },
    CaptionForm: {
      type: 'object',
      description: `An image part and the options of the JSON body. ${TEXT_FIELDS}`,
      required: ['image'],
      properties: {
        image: {
          type: 'string',
          contentMediaType: 'application/octet-stream',
          description: 'PNG, JPEG, WebP or GIF (a file part; a text field holding base64 or a data: URL works too); at most --max-image-pixels',
        },
        ...captionFields,
      },
    },
    SpeechQaForm: {
      type: 'object',
      required: ['story', 'question', 'choices[]'],
      properties: {
        story: { type: 'string', contentMediaType: 'audio/wav', description: 'the story, one sentence per pause; at most --max-audio-seconds' },
        question: {
          anyOf: [
            { type: 'string', maxLength: MAX_QUESTION_CHARS, description: 'a written question, with words the model reads (letters a-z, digits)' },
            { type: 'string', contentMediaType: 'audio/wav', description: 'a spoken question (a WAV file part)' },
          ],
        },
        'choices[]': {
          type: 'array',
          minItems: 2,
          maxItems: MAX_CHOICES,
          items: { type: 'string', minLength: 1, maxLength: MAX_CHOICE_CHARS },
          description: 'the answer choices, a repeated text field (`choices` works too)',
        },
        model: { type: 'string', description: 'a speech-qa model (default: the first ready one)' },
        recognizer: { type: 'string', description: 'a speech-recognition model instead of the one the speech-qa model names' },
        stream: { type: 'string', enum: ['true', 'false'], default: 'false', description: 'server-sent events story.partial, story.sentence, question, answer.token, result' },
      },
    },
  };
}

/** The multipart encodings: file parts and repeated fields. */
export const FORM_ENCODINGS: Record<string, Record<string, Schema>> = {
  TranscriptionForm: { file: { contentType: 'audio/wav, audio/x-wav, application/octet-stream' } },
  CaptionForm: { image: { contentType: 'image/png, image/jpeg, image/webp, image/gif, application/octet-stream' } },
  SpeechQaForm: { story: { contentType: 'audio/wav, audio/x-wav, application/octet-stream' }, question: { contentType: 'text/plain, audio/wav, audio/x-wav' } },
};
