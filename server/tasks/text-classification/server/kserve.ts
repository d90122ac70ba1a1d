/**
 * Text classification as one KServe model: `text_input` (BYTES, one text per item) in, all items
 * classified in one run; `json_output` out — per item what `POST /predict` answers for that text:
 * `[{label, score}]` best first, or with `return_attention` / `return_contributions`
 * `{predictions, attention?, contributions?, truncated}`. Parameters as in `/predict`: `truncate`,
 * `raw_scores`, `return_attention`, `return_contributions`.
 */
import { z } from 'zod';
import { invalidArgument } from '../../../core/errors.ts';
import { parseTaskParameters } from '../../../kserve/task-parameters.ts';
import { asTaskModel, runTask } from '../../../runtime/task-models.ts';
import type { TaskKServe } from '../../../service/task-endpoints.ts';
import { onlyEvent } from '../../../service/task-call.ts';
import { predictionJson } from './prediction-json.ts';

export const textClassificationKServe: TaskKServe = {
  inputs: [{ name: 'text_input', description: 'the text of each item' }],
  outputs: [
    {
      name: 'json_output',
      description:
        'per item, the /predict answer as JSON: [{label, score}] best first, or {predictions, attention?, contributions?, truncated} with return_attention / return_contributions',
    },
  ],
  async infer(ctx, model, inputs, parameters, signal) {
    const options = parseTaskParameters(parameters, {
      truncate: z.boolean({ error: 'must be a boolean' }).optional(),
      raw_scores: z.boolean({ error: 'must be a boolean' }).optional(),
      return_attention: z.boolean({ error: 'must be a boolean' }).optional(),
      return_contributions: z.boolean({ error: 'must be a boolean' }).optional(),
    });
    const attention = options.return_attention ?? false;
    const contributions = options.return_contributions ?? false;
    const loaded = asTaskModel(model, 'text-classification');
    const max = ctx.config.limits.maxTextChars;
    const fields = inputs.text_input.map((text, i) => {
      const field = `inputs.text_input[${i}]`;
      if (text.length > max) throw invalidArgument(field, `must be at most ${max} characters`);
      return field;
    });
    const request = { texts: inputs.text_input, fields, truncate: options.truncate ?? false, rawScores: options.raw_scores ?? false, attention, contributions };
    const results = await onlyEvent(runTask(loaded, request, signal));
    const labels = loaded.taskModel.labels;
    return { json_output: results.map((r) => JSON.stringify(predictionJson(r, labels, attention, contributions))) };
  },
};
