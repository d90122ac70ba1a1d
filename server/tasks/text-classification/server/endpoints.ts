/** The text-classification task's endpoints: TEI-compatible `POST /predict` and its OpenAPI description. */
import { arrayOf, bool, int, json, num, obj, ok, ref, str, WORK_ERRORS, type Schema } from '../../../http/openapi/operation.ts';
import type { TaskEndpoints } from '../../../service/task-endpoints.ts';
import { textClassificationKServe } from './kserve.ts';
import { MAX_TEXTS_PER_REQUEST } from '../index.ts';
import { predictRoutes, PredictRequest } from './http.ts';

const prediction = obj({ label: str, score: { ...num, description: 'softmax probability, or the raw score with raw_scores' } });
const predictions = { ...arrayOf(prediction), description: 'every label, best first' };
const perLabel = { type: 'object', additionalProperties: num } as const;
/** The tokens the model read, in order, each with its offsets and `value`. */
const tokens = (value: Record<string, Schema>, description: string) => ({
  ...arrayOf(obj({ text: str, start: { ...int, description: 'character offset (UTF-16 code units) into the text' }, end: int, ...value })),
  description,
});
const contributions = obj({
  tokens: tokens({ logits: { ...perLabel, description: "label -> this token's additive share of the label's raw score" } }, 'the tokens the model read, in order'),
  rest: { ...perLabel, description: "label -> what the tokens' shares leave of its raw score: the shares plus the rest are the raw scores (raw_scores: true)" },
});
const withAttention = obj(
  {
    predictions,
    attention: tokens(
      { weight: { ...num, description: 'attention weight; the weights of a text sum to 1' } },
      'with return_attention: the tokens the model read, in order, with their attention weights',
    ),
    contributions: { ...contributions, description: "with return_contributions: each token's share of each label's raw score, and the rest" },
    truncated: { ...bool, description: 'the text was longer than the model reads and was cut (truncate: true)' },
  },
  ['predictions', 'truncated'],
);

export const endpoints: TaskEndpoints = {
  kserve: textClassificationKServe,
  http: predictRoutes,
  openapi: (limits) => ({
    operations: [
      {
        method: 'post',
        path: '/predict',
        operationId: 'predict',
        tag: 'Tasks',
        summary: 'Classify texts (Hugging Face text-embeddings-inference compatible)',
        description: `One text (\`"text"\` or \`["text"]\`) answers with its predictions; a batch (\`[["text"], ["text"]]\`) with one list per text, classified together in one model run. TEI text pairs are refused. With \`return_attention\` or \`return_contributions\` (seqserve extensions) each text answers with \`{predictions, attention?, contributions?, truncated}\`: the attention weight of each token, and (models with per-token logits) each token's share of each label's raw score with the rest of it.`,
        body: { required: true, content: json(ref('PredictRequest')) },
        responses: {
          200: ok(
            'Predictions, best first',
            json({ anyOf: [ref('Predictions'), arrayOf(ref('Predictions')), ref('PredictionsWithAttention'), arrayOf(ref('PredictionsWithAttention'))] }),
          ),
        },
        errors: WORK_ERRORS,
        badInput: ['inputs', 'must be a string, ["text"] or a batch [["text"], ["text"], ...]'],
      },
    ],
    jsonBodies: [
      {
        id: 'PredictRequest',
        schema: PredictRequest(limits.maxTextChars),
        notes: {
          inputs: `one text, or a batch [["text"], ...] of at most ${MAX_TEXTS_PER_REQUEST} texts`,
          truncate: "cut texts longer than the model's text.maxTokens instead of refusing them",
          raw_scores: 'scores before the softmax',
          return_attention: "seqserve extension: each token's attention weight with character offsets",
          return_contributions:
            "seqserve extension (models whose manifest has classification.tokenLogits): each token's additive share of each label's raw score with character offsets, and the rest of each score",
          model: 'a text-classification model (default: the first ready one)',
        },
      },
    ],
    schemas: { Predictions: predictions, PredictionsWithAttention: withAttention },
  }),
};
