/** The text-recognition task's endpoints: `POST /v1/ocr/lines`, its OpenAPI description, and the model-level KServe interface. */
import { arrayOf, form, json, num, obj, ok, ref, str, WORK_ERRORS } from '../../../http/openapi/operation.ts';
import type { TaskEndpoints } from '../../../service/task-endpoints.ts';
import { MAX_LINES_PER_REQUEST } from '../index.ts';
import { ocrRoutes, OcrLinesJsonBody } from './http.ts';
import { textRecognitionKServe } from './kserve.ts';

const NOTES = {
  image: `a text-line image (PNG, JPEG, WebP or GIF) as base64 or a data: URL, or an array of up to ${MAX_LINES_PER_REQUEST} (the answer is then lines)`,
  model: 'a text-recognition model (default: the first ready one)',
  decoding: "greedy (best path) or beam (CTC prefix beam search); default: the model's textLine.ctc.beam.default",
};

const line = {
  text: str,
  confidence: { ...num, description: "the mean of the characters' confidences (PaddleOCR's score); 0 when no character is read" },
  characters: arrayOf(
    obj({
      char: str,
      confidence: { ...num, description: 'the probability of the character at the frame where it is emitted' },
      x: { ...num, description: "the centre of that frame along the width, in the input image's pixels" },
    }),
  ),
};

export const endpoints: TaskEndpoints = {
  http: ocrRoutes,
  kserve: textRecognitionKServe,
  openapi: () => ({
    operations: [
      {
        method: 'post',
        path: '/v1/ocr/lines',
        operationId: 'recognizeTextLines',
        tag: 'Tasks',
        summary: 'Read text-line images (OCR)',
        description:
          'Each image is one line of text (a detector or the client crops lines); it is resized to the model\'s height with its aspect ratio kept. One image answers the line; several (a JSON array, or several "image" parts) answer `lines` in order.',
        body: {
          required: true,
          content: {
            ...form('OcrLinesForm', { image: { contentType: 'image/png, image/jpeg, image/webp, image/gif, application/octet-stream' } }),
            ...json(ref('OcrLinesRequest')),
          },
        },
        responses: {
          200: ok('The text of the line, or of each line', json({ oneOf: [ref('OcrLine'), ref('OcrLines')] })),
        },
        errors: WORK_ERRORS,
        badInput: ['image', 'is not an image (PNG, JPEG, WebP or GIF expected)'],
      },
    ],
    jsonBodies: [{ id: 'OcrLinesRequest', schema: OcrLinesJsonBody, notes: NOTES }],
    schemas: {
      OcrLinesForm: {
        type: 'object',
        description: 'One "image" part per line, in order, and the options as text fields.',
        required: ['image'],
        properties: {
          image: {
            type: 'string',
            contentMediaType: 'application/octet-stream',
            description: `a text-line image per part (up to ${MAX_LINES_PER_REQUEST}); at most --max-image-pixels each`,
          },
          model: { type: 'string', description: NOTES.model },
          decoding: { enum: ['greedy', 'beam'], description: NOTES.decoding },
        },
      },
      OcrLine: obj({ model: str, ...line }),
      OcrLines: obj({ model: str, lines: arrayOf(obj(line)) }),
    },
  }),
};
