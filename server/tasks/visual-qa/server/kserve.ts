/**
 * Visual question answering as one KServe model: `image` (BYTES: an image per item — its bytes,
 * base64 or a data: URL) and `question` (BYTES text, one per image) in; `text_output` (the answer)
 * and `json_output` (per item the `/v1/vqa` answer as JSON: answer, answers with probabilities,
 * question_words, attention with its grid) out. Parameter `top_k` (1-32, default 5). All items run
 * in one graph run (at most MAX_VQA_ITEMS).
 */
import { z } from 'zod';
import { invalidArgument } from '../../../core/errors.ts';
import { MAX_TOP_K, MAX_VQA_ITEMS } from '../../../core/vqa/visual-qa.ts';
import { imageBytesFromText } from '../../../images/decode-image.ts';
import { parseTaskParameters } from '../../../kserve/task-parameters.ts';
import { asTaskModel } from '../../../runtime/task-models.ts';
import { onlyEvent } from '../../../service/task-call.ts';
import type { TaskKServe } from '../../../service/task-endpoints.ts';
import { answerPairs, checkQuestions, vqaAnswerJson } from './answer.ts';

export const visualQaKServe: TaskKServe = {
  inputs: [
    { name: 'image', file: true, description: 'an image per item (PNG, JPEG, WebP or GIF): its bytes, base64, or a data: URL' },
    { name: 'question', description: 'the question about each image, as text' },
  ],
  outputs: [
    { name: 'text_output', description: 'the answer to each question' },
    { name: 'json_output', description: 'per item, the /v1/vqa answer as JSON: {answer, answers: [{answer, probability}], question_words, attention: {grid, weights, hops}}' },
  ],
  async infer(ctx, model, inputs, parameters, signal) {
    const { top_k: topK } = parseTaskParameters(parameters, {
      top_k: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(MAX_TOP_K, `must be at most ${MAX_TOP_K}`).optional(),
    });
    const loaded = asTaskModel(model, 'visual-qa');
    const n = inputs.image.length;
    if (n === 0) throw invalidArgument('inputs.question', 'has no elements; send at least one image-question pair');
    if (inputs.question.length !== n) throw invalidArgument('inputs.question', `has ${inputs.question.length} elements; image has ${n} (one question per image)`);
    if (n > MAX_VQA_ITEMS) throw invalidArgument('inputs.image', `has ${n} elements; at most ${MAX_VQA_ITEMS} image-question pairs per request`);
    const fields = (i: number) => ({ image: `inputs.image[${i}]`, question: `inputs.question[${i}]` });
    checkQuestions(
      loaded,
      inputs.question.map((question, i) => ({ question, fields: fields(i) })),
      topK,
    );
    const pairs = inputs.image.map((text, i) => ({ bytes: imageBytesFromText(text, fields(i).image), question: inputs.question[i], fields: fields(i) }));
    const results = await onlyEvent(answerPairs(ctx, loaded, pairs, topK, signal));
    return { text_output: results.map((r) => r.answer), json_output: results.map((r) => JSON.stringify(vqaAnswerJson(r))) };
  },
};
