/** The visual-qa task's endpoints: `POST /v1/vqa`, its OpenAPI description, and the model-level KServe interface. */
import { arrayOf, form, int, json, num, obj, ok, ref, str, TEXT_FIELDS, WORK_ERRORS } from '../../../http/openapi/operation.ts';
import { MAX_TOP_K } from '../../../core/vqa/visual-qa.ts';
import type { TaskEndpoints } from '../../../service/task-endpoints.ts';
import { vqaRoutes, VqaJsonBody } from './http.ts';
import { visualQaKServe } from './kserve.ts';

const NOTES = {
  image: 'PNG, JPEG, WebP or GIF: base64, or a data: URL; at most --max-image-pixels',
  question: "a question about the image in the model's words (an unknown word is refused, naming it); at most the model's vqa.maxQuestionWords words",
  model: 'a visual-qa model (default: the first ready one)',
  top_k: `how many answers to list, best first (1-${MAX_TOP_K}, default 5)`,
};

export const endpoints: TaskEndpoints = {
  http: vqaRoutes,
  kserve: visualQaKServe,
  openapi: () => ({
    operations: [
      {
        method: 'post',
        path: '/v1/vqa',
        operationId: 'answerVisualQuestion',
        tag: 'Tasks',
        summary: 'Answer a question about an image (visual question answering)',
        description:
          "The image is stretched to the model's size; the question is read word by word (lower case, words are runs of letters and digits). The answer comes from the model's fixed answer list, with the probabilities of the top_k answers and the attention over the image's region grid.",
        body: {
          required: true,
          content: {
            ...form('VqaForm', { image: { contentType: 'image/png, image/jpeg, image/webp, image/gif, application/octet-stream' } }),
            ...json(ref('VqaRequest')),
          },
        },
        responses: { 200: ok('The answer', json(ref('VqaAnswer'))) },
        errors: WORK_ERRORS,
        badInput: ['question', 'has a word this model does not know: "colour2"'],
      },
    ],
    jsonBodies: [{ id: 'VqaRequest', schema: VqaJsonBody, notes: NOTES }],
    schemas: {
      VqaForm: {
        type: 'object',
        description: `An "image" file part and the JSON body's other fields as text fields. ${TEXT_FIELDS}`,
        required: ['image', 'question'],
        properties: {
          image: {
            type: 'string',
            contentMediaType: 'application/octet-stream',
            description: 'PNG, JPEG, WebP or GIF (a file part; a text field holding base64 or a data: URL works too)',
          },
          question: { type: 'string', description: NOTES.question },
          model: { type: 'string', description: NOTES.model },
          top_k: { type: 'integer', minimum: 1, maximum: MAX_TOP_K, description: NOTES.top_k },
        },
      },
      VqaAnswer: obj(
        {
          model: str,
          object: { const: 'vqa.answer' },
          answer: str,
          answers: { ...arrayOf(obj({ answer: str, probability: num })), description: 'the top_k most probable answers, best first' },
          question_words: { ...arrayOf(str), description: 'the words the model read' },
          attention: obj({
            grid: { ...arrayOf(int), description: 'rows, columns of the region grid' },
            weights: { ...arrayOf(num), description: "the last hop's weight of each region, row-major (they sum to 1)" },
            hops: { ...arrayOf(arrayOf(num)), description: "every attention hop's weights, first hop first" },
          }),
        },
        ['model', 'object', 'answer', 'answers', 'question_words'],
      ),
    },
  }),
};
