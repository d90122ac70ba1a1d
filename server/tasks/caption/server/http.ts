/**
 * `POST /v1/captions`: an image (multipart `image` part, or JSON `image` as base64 / data: URL) →
 * its caption, per-token log-probabilities, and on request (`include_attention`) the attention
 * over the encoder's image regions per token (row-major over `attention_grid`). `stream: true` sends
 * server-sent events `caption.token` (one per token) then `caption.done`.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { asSeqserveError, invalidArgument } from '../../../core/errors.ts';
import { parseJson } from '../../../core/parse-json.ts';
import type { ServerContext } from '../../../context.ts';
import { collectCall, openCall } from '../../../service/task-call.ts';
import { caption } from '../index.ts';
import { CaptionJsonBody, type CaptionOptions, captionOptionsFromForm, captionRequest, captionToken, collectCaption } from '../request.ts';
import { decodeImage, imageBytesFromText } from '../../../images/decode-image.ts';
import { resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import { readText } from '../../../http/read-body.ts';
import { readForm } from '../../../http/read-form.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import { sseResponse } from '../../../http/sse.ts';

async function readCaptionBody(c: Context, maxBytes: number): Promise<{ options: CaptionOptions; bytes: Uint8Array }> {
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/json')) {
    const { image, ...options } = parseJson(await readText(c, maxBytes), CaptionJsonBody);
    return { options, bytes: imageBytesFromText(image, 'image') };
  }
  if (!type.startsWith('multipart/form-data')) throw invalidArgument('body', 'must be multipart/form-data with an "image" part, or JSON with an "image" field');
  const form = await readForm(c, maxBytes, 'an "image" part');
  const image = form.get('image');
  if (image === null) throw invalidArgument('image', 'is required (an image file part)');
  const bytes = typeof image === 'string' ? imageBytesFromText(image, 'image') : new Uint8Array(await image.arrayBuffer());
  return { options: captionOptionsFromForm(form), bytes };
}

export function captionRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  app.post('/v1/captions', async (c) => {
    const { options, bytes } = await readCaptionBody(c, ctx.config.limits.maxBodyBytes);
    const loaded = resolveTaskModel(ctx.repository, 'caption', options.model);
    const engine = loaded.taskModel;
    const image = await decodeImage(bytes, engine.model.image!, ctx.config.limits.maxImagePixels);
    const request = captionRequest(engine.model, options, image);
    const attention = request.attention ?? false;
    const base = { id: `caption-${randomUUID().replace(/-/g, '')}`, model: loaded.name, ...(attention ? { attention_grid: engine.model.image!.grid ?? null } : {}) };
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
      return sseResponse(c, events(), {
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
