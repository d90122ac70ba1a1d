/** The speech-qa task's endpoints: `POST /v1/speech-qa` and `seqserve.v1.SpeechQa/Ask` over gRPC. */
import { MAX_CHOICE_CHARS, MAX_CHOICES } from '../../../core/qa/choice-scores.ts';
import { arrayOf, bool, event, form, int, json, num, obj, ok, ref, sse, SSE_NOTE, str, WORK_ERRORS } from '../../../http/openapi/operation.ts';
import type { TaskEndpoints } from '../../../service/task-endpoints.ts';
import { speechQaKServe } from './kserve.ts';
import { speechQaService } from './grpc.ts';
import { speechQaRoutes } from './http.ts';
import { MAX_QUESTION_CHARS } from './speech-qa-request.ts';

const result = {
  transcript: { ...str, description: 'the story as recognised' },
  sentences: { ...arrayOf(str), description: 'one per pause' },
  question_text: str,
  answer: str,
  choices: arrayOf(str),
  choice_index: int,
  choice_scores: { ...arrayOf(num), description: 'summing to 1' },
  hops: { ...arrayOf(arrayOf(num)), description: 'per hop of the memory network, attention over sentences' },
};

export const endpoints: TaskEndpoints = {
  kserve: speechQaKServe,
  openAiErrorPaths: ['/v1/speech-qa'],
  http: speechQaRoutes,
  grpc: { protos: ['seqserve/v1/speech_qa.proto'], services: (ctx) => ({ 'seqserve.v1.SpeechQa': speechQaService(ctx) }) },
  openapi: () => ({
    operations: [
      {
        method: 'post',
        path: '/v1/speech-qa',
        operationId: 'answerSpokenQuestion',
        tag: 'Tasks',
        summary: 'Spoken question answering over a spoken story',
        body: {
          required: true,
          content: form('SpeechQaForm', {
            story: { contentType: 'audio/wav, audio/x-wav, application/octet-stream' },
            question: { contentType: 'text/plain, audio/wav, audio/x-wav' },
          }),
        },
        responses: { 200: ok('The answer; with `stream=true` events in order', { ...json(ref('SpeechQaResult')), ...sse(ref('SpeechQaEvent'), SSE_NOTE) }) },
        errors: WORK_ERRORS,
        badInput: ['choices', 'need at least 2 (2-4 answer choices)'],
      },
    ],
    schemas: {
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
      SpeechQaResult: obj({ model: str, ...result }),
      SpeechQaEvent: {
        oneOf: [
          event('story.partial', { sentence: int, text: str }),
          event('story.sentence', { sentence: int, text: str }),
          event('question', { text: str, spoken: bool }),
          event('answer.token', { token: str, logprob: num }),
          event('result', { model: str, ...result }),
          ref('StreamErrorEvent'),
        ],
      },
    },
  }),
};
