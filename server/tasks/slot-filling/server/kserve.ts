/**
 * Slot filling as one KServe model: `text_input` (BYTES, one text per item) in, `json_output` out —
 * per item the `/v1/slots` answer as JSON (tokens, BIO tags, slots with character offsets).
 */
import { invalidArgument } from '../../../core/errors.ts';
import { parseTaskParameters } from '../../../kserve/task-parameters.ts';
import { asTaskModel, runTask } from '../../../runtime/task-models.ts';
import type { TaskKServe } from '../../../service/task-endpoints.ts';
import { onlyEvent } from '../../../service/task-call.ts';

export const slotFillingKServe: TaskKServe = {
  inputs: [{ name: 'text_input', description: 'the text of each item' }],
  outputs: [{ name: 'json_output', description: 'per item, the /v1/slots answer as JSON: {tokens, tags, slots: [{name, value, start, end, confidence}]}' }],
  async infer(ctx, model, inputs, parameters, signal) {
    parseTaskParameters(parameters, {});
    const loaded = asTaskModel(model, 'slot-filling');
    const max = ctx.config.limits.maxTextChars;
    inputs.text_input.forEach((text, i) => {
      if (!text.trim()) throw invalidArgument(`inputs.text_input[${i}]`, 'must not be empty');
      if (text.length > max) throw invalidArgument(`inputs.text_input[${i}]`, `must be at most ${max} characters`);
    });
    const results = await Promise.all(inputs.text_input.map((text) => onlyEvent(runTask(loaded, { text }, signal))));
    return { json_output: results.map((r) => JSON.stringify(r)) };
  },
};
