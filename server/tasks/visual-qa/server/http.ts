/**
 * `POST /v1/vqa`: an image and a question about it → `{model, answer, answers: [{answer,
 * probability}] (the top_k most probable, best first), question_words, attention: {grid, weights,
 * hops}}` (weights: the last attention hop over the region grid, row-major). A multipart body
 * (`image` file part, `question`, optional `model`, `top_k` text fields) or JSON `{image: base64 |
 * data: URL, question, model?, top_k?}`.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { invalidArgument } from '../../../core/errors.ts';
import { parseJson } from '../../../core/parse-json.ts';
import { MAX_TOP_K } from '../../../core/vqa/visual-qa.ts';
import type { ServerContext } from '../../../context.ts';
import { readText } from '../../../http/read-body.ts';
import { readForm } from '../../../http/read-form.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import { imageBytesFromText } from '../../../images/decode-image.ts';
import { resolveTaskModel } from '../../../runtime/task-models.ts';
import { collectCall, onlyEvent, openCall } from '../../../service/task-call.ts';
import { answerPairs, checkQuestions, vqaAnswerJson } from './answer.ts';

export const VqaOptions = z.strictObject({
  model: z.string().min(1, 'is empty').optional(),
  top_k: z.number().int('must be an integer').min(1, 'must be at least 1').max(MAX_TOP_K, `must be at most ${MAX_TOP_K}`).optional(),
});

/** The JSON body. */
export const VqaJsonBody = VqaOptions.extend({
  image: z.string({ error: 'is required: base64 or a data: URL' }).min(1, 'is empty'),
  question: z.string({ error: 'is required: a question about the image' }),
});

const FIELDS = ['image', 'question', 'model', 'top_k'];

async function readVqaBody(c: Context, maxBytes: number): Promise<{ options: z.infer<typeof VqaOptions>; bytes: Uint8Array; question: string }> {
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/json')) {
    const { image, question, ...options } = parseJson(await readText(c, maxBytes), VqaJsonBody);
    return { options, bytes: imageBytesFromText(image, 'image'), question };
  }
  if (!type.startsWith('multipart/form-data'))
    throw invalidArgument('body', 'must be multipart/form-data with "image" and "question" parts, or JSON with "image" and "question" fields');
  const form = await readForm(c, maxBytes, 'an "image" part and a "question" field');
  form.forEach((_, key) => {
    if (!FIELDS.includes(key)) throw invalidArgument(key, `unknown field (fields: ${FIELDS.join(', ')})`);
  });
  for (const key of FIELDS) if (form.getAll(key).length > 1) throw invalidArgument(key, 'is given more than once (one image and one question per request)');
  const image = form.get('image');
  if (image === null) throw invalidArgument('image', 'is required (an image file part)');
  const question = form.get('question');
  if (question === null) throw invalidArgument('question', 'is required: a question about the image');
  if (typeof question !== 'string') throw invalidArgument('question', 'must be a text field');
  const raw: Record<string, unknown> = {};
  const model = form.get('model');
  if (model !== null && model !== '') {
    if (typeof model !== 'string') throw invalidArgument('model', 'must be a text field');
    raw.model = model;
  }
  const topK = form.get('top_k');
  if (topK !== null && topK !== '') {
    if (typeof topK !== 'string') throw invalidArgument('top_k', 'must be a text field');
    const n = Number(topK);
    if (!Number.isFinite(n)) throw invalidArgument('top_k', `"${topK}" is not a number`);
    raw.top_k = n;
  }
  const options = parseJson(JSON.stringify(raw), VqaOptions);
  const bytes = typeof image === 'string' ? imageBytesFromText(image, 'image') : new Uint8Array(await image.arrayBuffer());
  return { options, bytes, question };
}

export function vqaRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  app.post('/v1/vqa', async (c) => {
    const { options, bytes, question } = await readVqaBody(c, ctx.config.limits.maxBodyBytes);
    const loaded = resolveTaskModel(ctx.repository, 'visual-qa', options.model);
    const pairs = [{ bytes, question, fields: { image: 'image', question: 'question' } }];
    checkQuestions(loaded, pairs, options.top_k);
    const call = openCall(ctx, { model: loaded.name, endpoint: 'vqa', kind: 'request', signal: requestSignal(c) }, (signal) =>
      answerPairs(ctx, loaded, pairs, options.top_k, signal),
    );
    const [result] = await collectCall(call, onlyEvent);
    return c.json({ model: loaded.name, object: 'vqa.answer', ...vqaAnswerJson(result) });
  });
  return app;
}
