/**
 * `POST /v1/captions`: an image (multipart `image` part, or JSON `image` as base64 / data: URL) →
 * its caption, per-token log-probabilities, and on request (`include_attention`) the attention
 * over the encoder's image regions per token (row-major over `attention_grid`). A video model
 * takes a clip: `image` holding an animated GIF or WebP, or `frames` (multipart parts repeated, or
 * a JSON array) holding pictures in order; its attention is over the clip's sampled frames
 * (`attention_frames`: how many). `stream: true` sends
 * server-sent events `caption.token` (one per token) then `caption.done`.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { asSeqserveError, invalidArgument, notFound } from '../../../core/errors.ts';
import { parseJson } from '../../../core/parse-json.ts';
import type { ServerContext } from '../../../context.ts';
import { collectCall, openCall } from '../../../service/task-call.ts';
import { caption } from '../index.ts';
import { attentionLayout, CaptionJsonBody, type CaptionOptions, captionOptionsFromForm, captionRequest, captionToken, collectCaption, MAX_FRAME_LIST } from '../request.ts';
import { imageBytesFromText } from '../../../images/decode-image.ts';
import { captionSource, type CaptionInput } from '../../../images/decode-video.ts';
import type { TaskLoadedModel } from '../../../runtime/model-repository.ts';
import { resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import { readText } from '../../../http/read-body.ts';
import { readForm } from '../../../http/read-form.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import { sseResponse } from '../../../http/sse.ts';

async function readCaptionBody(c: Context, maxBytes: number): Promise<{ options: CaptionOptions; input: CaptionInput }> {
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/json')) {
    const { image, frames, ...options } = parseJson(await readText(c, maxBytes), CaptionJsonBody);
    if (image === undefined && frames === undefined) throw invalidArgument('image', 'is required (base64 or a data: URL), or frames (a video model: pictures in order)');
    return {
      options,
      input: {
        ...(image !== undefined ? { image: { bytes: imageBytesFromText(image, 'image'), field: 'image' } } : {}),
        ...(frames !== undefined ? { frames: { bytes: frames.map((f, i) => imageBytesFromText(f, `frames[${i}]`)), field: 'frames' } } : {}),
      },
    };
  }
  if (!type.startsWith('multipart/form-data')) throw invalidArgument('body', 'must be multipart/form-data with an "image" part, or JSON with an "image" field');
  const form = await readForm(c, maxBytes, 'an "image" part');
  const image = form.get('image');
  const frameParts = form.getAll('frames');
  if (image === null && frameParts.length === 0) throw invalidArgument('image', 'is required (an image file part)');
  if (frameParts.length > MAX_FRAME_LIST) throw invalidArgument('frames', `has ${frameParts.length} parts; at most ${MAX_FRAME_LIST}`);
  const bytesOf = async (part: string | File, field: string) => (typeof part === 'string' ? imageBytesFromText(part, field) : new Uint8Array(await part.arrayBuffer()));
  const input: CaptionInput = {};
  if (image !== null) input.image = { bytes: await bytesOf(image, 'image'), field: 'image' };
  if (frameParts.length > 0) input.frames = { bytes: await Promise.all(frameParts.map((p, i) => bytesOf(p, `frames[${i}]`))), field: 'frames' };
  return { options: captionOptionsFromForm(form), input };
}

function videoCaptionModel(ctx: ServerContext): TaskLoadedModel<'caption'> {
  const video = ctx.repository
    .readyModels()
    .filter((m): m is TaskLoadedModel<'caption'> => m.task === 'caption' && (m as TaskLoadedModel<'caption'>).taskModel.model.video !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name))[0];
  if (!video) throw notFound('no ready video caption model is loaded', 'model');
  return video;
}

export function captionRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  app.post('/v1/captions', async (c) => {
    const { options, input } = await readCaptionBody(c, ctx.config.limits.maxBodyBytes);
    // frames without a model name go to a video caption model (the first by name); an image to the first caption model
    const loaded: TaskLoadedModel<'caption'> = options.model === undefined && input.frames ? videoCaptionModel(ctx) : resolveTaskModel(ctx.repository, 'caption', options.model);
    const engine = loaded.taskModel;
    const image = await captionSource(engine.model, input, ctx.config.limits.maxImagePixels);
    const request = captionRequest(engine.model, options, image);
    const attention = request.attention ?? false;
    const base = { id: `caption-${randomUUID().replace(/-/g, '')}`, model: loaded.name, ...(attention ? attentionLayout(engine.model) : {}) };
    const countTokens = (k: number) => ctx.metrics.generatedTokens.inc({ model: loaded.name }, k);
    const call = openCall(
      ctx,
      { model: loaded.name, endpoint: options.stream ? 'caption_stream' : 'caption', kind: options.stream ? 'stream' : 'request', signal: requestSignal(c) },
      (signal) => runTask(loaded, request, signal),
    );

    if (options.stream) {
      let tokens = 0;
      async function* events(): AsyncGenerator<string> {
        for await (const e of call) {
          if (e.type === 'token') {
            tokens++;
            yield JSON.stringify({ type: 'caption.token', delta: e.delta, ...captionToken(e, attention) });
          } else {
            yield JSON.stringify({ type: 'caption.done', ...base, caption: e.text, finish_reason: e.reason, usage: { completion_tokens: tokens } });
          }
        }
      }
      await call.started(); // refused once the work starts (a full waiting list): a status, not an error event after a 200
      return sseResponse(c, events(), {
        streams: ctx.openStreams,
        log: ctx.log,
        close: async () => {
          countTokens(tokens);
          await call.return();
        },
      });
    }

    const result = await collectCall(call, collectCaption);
    countTokens(result.tokens.length);
    return c.json({
      ...base,
      object: 'caption',
      caption: result.caption,
      finish_reason: result.finishReason,
      tokens: result.tokens.map((t) => captionToken(t, attention)),
      usage: { completion_tokens: result.tokens.length },
    });
  });
  return app;
}
