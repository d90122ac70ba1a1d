/**
 * Text classification as one KServe model: `text_input` (BYTES, one text per item) in, all items
 * classified in one run; `json_output` out — per item `[{label, score}]` best first, as
 * `POST /predict` answers. Parameters: `truncate` and `raw_scores`, as in `/predict`.
 */
import { z } from 'zod';
import { invalidArgument } from '../../../core/errors.ts';
import { parseTaskParameters } from '../../../kserve/task-parameters.ts';
import { asTaskModel, runTask } from '../../../runtime/task-models.ts';
import type { TaskKServe } from '../../../service/task-endpoints.ts';
import { onlyEvent } from '../../../service/task-call.ts';

export const textClassificationKServe: TaskKServe = {
  inputs: [{ name: 'text_input', description: 'the text of each item' }],
  outputs: [{ name: 'json_output', description: 'per item, its labels with scores best first as JSON: [{label, score}]' }],
  async infer(ctx, model, inputs, parameters, signal) {
    const options = parseTaskParameters(parameters, {
      truncate: z.boolean({ error: 'must be a boolean' }).optional(),
      raw_scores: z.boolean({ error: 'must be a boolean' }).optional(),
    });
    const loaded = asTaskModel(model, 'text-classification');
    const max = ctx.config.limits.maxTextChars;
    const fields = inputs.text_input.map((text, i) => {
      const field = `inputs.text_input[${i}]`;
      if (text.length > max) throw invalidArgument(field, `must be at most ${max} characters`);
      return field;
    });
    const request = { texts: inputs.text_input, fields, truncate: options.truncate ?? false, rawScores: options.raw_scores ?? false, attention: false };
    const results = await onlyEvent(runTask(loaded, request, signal));
    return { json_output: results.map((r) => JSON.stringify(r.scores.map(({ label, score }) => ({ label, score })))) };
  },
};
