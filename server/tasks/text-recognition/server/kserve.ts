/**
 * Text-line recognition as one KServe model: `image` (BYTES: a text-line image per item, base64 or
 * a data: URL) in; `text_output` (the text of each line) and `json_output` (per line the
 * `/v1/ocr/lines` answer as JSON: text, confidence, characters with confidence and x) out.
 * Parameter `decoding`: `greedy` or `beam` (default: the manifest's). The model's name still takes
 * its graph's own `x` tensor too (server/kserve/task-model.ts, takesGraphInputs).
 */
import { z } from 'zod';
import { imageBytesFromText } from '../../../images/decode-image.ts';
import { parseTaskParameters } from '../../../kserve/task-parameters.ts';
import { asTaskModel, runTask } from '../../../runtime/task-models.ts';
import { onlyEvent } from '../../../service/task-call.ts';
import type { TaskKServe } from '../../../service/task-endpoints.ts';
import { decodeLines } from './decode-line.ts';

export const textRecognitionKServe: TaskKServe = {
  inputs: [{ name: 'image', file: true, description: 'a text-line image per item (PNG, JPEG, WebP or GIF): its bytes, base64, or a data: URL' }],
  outputs: [
    { name: 'text_output', description: 'the text of each line' },
    { name: 'json_output', description: 'per line, the /v1/ocr/lines answer as JSON: {text, confidence, characters: [{char, confidence, x}]}' },
  ],
  async infer(ctx, model, inputs, parameters, signal) {
    const { decoding } = parseTaskParameters(parameters, { decoding: z.enum(['greedy', 'beam'], { error: 'must be greedy or beam' }).optional() });
    const loaded = asTaskModel(model, 'text-recognition');
    const spec = loaded.taskModel.spec.image;
    const fields = inputs.image.map((_, i) => `inputs.image[${i}]`);
    const images = inputs.image.map((text, i) => ({ bytes: imageBytesFromText(text, fields[i]), field: fields[i] }));
    const lines = await decodeLines(images, spec, ctx.config.limits.maxImagePixels, signal);
    const results = await onlyEvent(runTask(loaded, { lines, decoding, fields }, signal));
    return { text_output: results.map((r) => r.text), json_output: results.map((r) => JSON.stringify(r)) };
  },
};
