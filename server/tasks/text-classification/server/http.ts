/**
 * `POST /predict`, compatible with Hugging Face text-embeddings-inference's sequence classification
 * route: `inputs` is one text (a string, or `["text"]`) or a batch (`[["text"], ["text"], ...]`);
 * `truncate` cuts texts longer than the model reads instead of refusing them, `raw_scores` gives the
 * scores before the softmax; the response is `[{label, score}]` best first, or one such list per
 * text of a batch. TEI's text pairs (`["a", "b"]`) are refused: these models read one text.
 *
 * seqserve extensions: `model` picks a text-classification model (default: the first ready one);
 * `return_attention: true` answers each text with `{predictions, attention, truncated}`, where
 * `attention` lists the tokens the model read with their character offsets and attention weights;
 * `return_contributions: true` (models with per-token logits) adds `contributions: {tokens, rest}`,
 * each token with its share of each label's raw score (`logits: {label: share}`) and `rest` what the
 * shares leave of each raw score (so shares + rest = the `raw_scores` of the text).
 * Refusals come as TEI's `{error, error_type}`, the message naming the field, with seqserve's statuses.
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { ServerContext } from '../../../context.ts';
import { asSeqserveError, HTTP_STATUS_OF_CODE, invalidArgument, type SeqserveError } from '../../../core/errors.ts';
import { readJson } from '../../../http/read-json.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import { resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import { collectCall, onlyEvent, openCall } from '../../../service/task-call.ts';
import { MAX_TEXTS_PER_REQUEST } from '../index.ts';
import { predictionJson } from './prediction-json.ts';

/** The `POST /predict` body; each text is bounded by the server's `maxTextChars` limit. */
export function PredictRequest(maxTextChars: number) {
  const text = z.string({ error: 'must be a string' }).max(maxTextChars, `must be at most ${maxTextChars} characters`);
  const sequence = z.array(text).min(1, 'must hold one text').max(2, 'must be ["text"]');
  return z.object({
    inputs: z.union([text, sequence, z.array(sequence).min(1, 'must hold at least one text')], {
      error: 'must be a string, ["text"] or a batch [["text"], ["text"], ...]',
    }),
    truncate: z.boolean({ error: 'must be a boolean' }).default(false),
    raw_scores: z.boolean({ error: 'must be a boolean' }).default(false),
    return_attention: z.boolean({ error: 'must be a boolean' }).default(false),
    return_contributions: z.boolean({ error: 'must be a boolean' }).default(false),
    model: z.string().min(1).optional(),
  });
}

type PredictBody = z.infer<ReturnType<typeof PredictRequest>>;

const PAIRS = 'text pairs are not supported: text-classification models read one text (a batch is [["text"], ["text"], ...])';

/** The texts of `inputs`, each with its field name, and whether it was a batch. */
export function predictTexts(inputs: PredictBody['inputs']): { texts: string[]; fields: string[]; batch: boolean } {
  if (typeof inputs === 'string') return { texts: [inputs], fields: ['inputs'], batch: false };
  if (inputs.every((x) => typeof x === 'string')) {
    if (inputs.length === 2) throw invalidArgument('inputs', PAIRS);
    return { texts: [inputs[0]], fields: ['inputs[0]'], batch: false };
  }
  if (inputs.length > MAX_TEXTS_PER_REQUEST) throw invalidArgument('inputs', `must hold at most ${MAX_TEXTS_PER_REQUEST} texts`);
  const fields: string[] = [];
  const texts = inputs.map((seq, i) => {
    if (!Array.isArray(seq)) throw invalidArgument(`inputs[${i}]`, 'a batch holds ["text"] lists, not strings');
    if (seq.length === 2) throw invalidArgument(`inputs[${i}]`, PAIRS);
    fields.push(`inputs[${i}][0]`);
    return seq[0];
  });
  return { texts, fields, batch: true };
}

/** TEI's `error_type` for a refusal (its ErrorType names; the status stays seqserve's). */
function teiErrorType(e: SeqserveError): string {
  if (e.code === 'resource_exhausted') return 'Overloaded';
  if (e.code === 'unavailable') return 'Unhealthy';
  return HTTP_STATUS_OF_CODE[e.code] < 500 ? 'Validation' : 'Backend';
}

/**
 * A refusal as text-embeddings-inference answers it, `{"error": "...", "error_type": "Validation"}`,
 * the message starting with the field it is about (`model: unknown model "x"`). Internal errors go to
 * the server's one error response (logged, no stack sent).
 */
function teiError(c: Context, err: unknown): Response {
  const e = asSeqserveError(err);
  if (e.code === 'internal') throw err;
  const message = e.field && !e.message.startsWith(`${e.field}:`) && !e.message.startsWith(`${e.field}[`) ? `${e.field}: ${e.message}` : e.message;
  if (e.retryAfterSeconds !== undefined) c.header('Retry-After', String(e.retryAfterSeconds));
  return c.json({ error: message, error_type: teiErrorType(e) }, HTTP_STATUS_OF_CODE[e.code] as ContentfulStatusCode);
}

/** `POST /predict`: text classification, TEI-compatible, with attention over the words as an extension. */
export function predictRoutes(ctx: ServerContext): Hono {
  const Body = PredictRequest(ctx.config.limits.maxTextChars);
  const app = new Hono();
  const predict = async (c: Context): Promise<Response> => {
    const body = await readJson(c, Body, ctx.config.limits.maxBodyBytes);
    const { texts, fields, batch } = predictTexts(body.inputs);
    const model = resolveTaskModel(ctx.repository, 'text-classification', body.model);
    const request = { texts, fields, truncate: body.truncate, rawScores: body.raw_scores, attention: body.return_attention, contributions: body.return_contributions };
    const call = openCall(ctx, { model: model.name, endpoint: 'predict', kind: 'request', signal: requestSignal(c) }, (signal) => runTask(model, request, signal));
    const labels = model.taskModel.labels;
    const results = (await collectCall(call, onlyEvent)).map((r) => predictionJson(r, labels, body.return_attention, body.return_contributions));
    return c.json(batch ? results : results[0]);
  };
  app.post('/predict', (c) => predict(c).catch((err: unknown) => teiError(c, err)));
  return app;
}
