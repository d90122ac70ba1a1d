/**
 * Captioning as one KServe model: `image` (BYTES: base64 or a data: URL per item; for a video
 * caption model each item is a clip, an animated GIF or WebP, sampled as its manifest says) in,
 * `text_output` (the caption) out; request parameters are the caption options (temperature,
 * beam_width, max_tokens, seed, ...), refused naming `parameters.<name>`.
 */
import { invalidArgument, SeqserveError } from '../../../core/errors.ts';
import { imageBytesFromText } from '../../../images/decode-image.ts';
import { captionSource } from '../../../images/decode-video.ts';
import { asTaskModel, runTask } from '../../../runtime/task-models.ts';
import type { TaskKServe } from '../../../service/task-endpoints.ts';
import { captionRequest, validateCaptionOptions } from '../request.ts';

export const captionKServe: TaskKServe = {
  inputs: [
    {
      name: 'image',
      file: true,
      description: 'a PNG, JPEG, WebP or GIF per item (a video caption model: an animated GIF or WebP clip per item): its bytes, base64, or a data: URL',
    },
  ],
  outputs: [{ name: 'text_output', description: 'the caption of each' }],
  async infer(ctx, model, inputs, parameters, signal) {
    const loaded = asTaskModel(model, 'caption');
    let options;
    try {
      options = validateCaptionOptions({ ...parameters, model: loaded.name, stream: false });
    } catch (err) {
      if (err instanceof SeqserveError && err.field) throw invalidArgument(`parameters.${err.field}`, err.message.replace(`${err.field}: `, ''));
      throw err;
    }
    const engine = loaded.taskModel;
    const requests = await Promise.all(
      inputs.image.map(async (text, i) =>
        captionRequest(
          engine.model,
          options,
          await captionSource(engine.model, { image: { bytes: imageBytesFromText(text, `inputs.image[${i}]`), field: `inputs.image[${i}]` } }, ctx.config.limits.maxImagePixels),
        ),
      ),
    );
    const captions = await Promise.all(
      requests.map(async (request) => {
        let text = '';
        for await (const e of runTask(loaded, request, signal)) if (e.type === 'finish') text = e.text;
        return text;
      }),
    );
    return { text_output: captions };
  },
};
