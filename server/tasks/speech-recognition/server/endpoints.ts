/**
 * The speech-recognition task's endpoints: OpenAI-compatible `POST /v1/audio/transcriptions` and
 * Google's `google.cloud.speech.v1.Speech` over gRPC.
 */
import { arrayOf, event, form, int, json, num, obj, ok, ref, sse, SSE_NOTE, str, WORK_ERRORS } from '../../../http/openapi/operation.ts';
import type { TaskEndpoints } from '../../../service/task-endpoints.ts';
import { speechRecognitionKServe } from './kserve.ts';
import { speechService } from './grpc.ts';
import { FORMATS, MAX_HOTWORD_CHARS, MAX_HOTWORDS, transcriptionRoutes } from './http.ts';

const word = obj({ word: str, start: num, end: num, confidence: num }, ['word', 'start', 'end'], { description: 'times in seconds' });

export const endpoints: TaskEndpoints = {
  kserve: speechRecognitionKServe,
  openAiErrorPaths: ['/v1/audio'],
  http: transcriptionRoutes,
  grpc: { protos: ['google/cloud/speech/v1/cloud_speech.proto'], services: (ctx) => ({ 'google.cloud.speech.v1.Speech': speechService(ctx) }) },
  openapi: () => ({
    operations: [
      {
        method: 'post',
        path: '/v1/audio/transcriptions',
        operationId: 'createTranscription',
        tag: 'OpenAI-compatible',
        summary: 'Transcribe a WAV file',
        body: { required: true, content: form('TranscriptionForm', { file: { contentType: 'audio/wav, audio/x-wav, application/octet-stream' } }) },
        responses: {
          200: ok('The transcript, by response_format; with `stream=true` events', {
            ...json({
              anyOf: [ref('Transcription'), ref('VerboseTranscription')],
              description: 'Transcription for response_format=json (the default), VerboseTranscription for verbose_json',
            }),
            'text/plain': { schema: { type: 'string', description: 'response_format=text' } },
            ...sse(ref('TranscriptionEvent'), SSE_NOTE),
          }),
        },
        errors: WORK_ERRORS,
        badInput: ['response_format', 'must be one of json, text, verbose_json'],
      },
    ],
    schemas: {
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
    },
  }),
};
