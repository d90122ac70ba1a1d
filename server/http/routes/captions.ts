/**
 * `POST /v1/captions`: an image (multipart `image` part, or JSON `image` as base64 / data: URL) →
 * its caption, per-token log-probabilities, and on request (`include_attention`) the attention
 * over the encoder's image regions per token (row-major over `attention_grid`). `stream: true` sends
 * server-sent events `caption.token` (one per token) then `caption.done`.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { asSeqserveError, invalidArgument } from '../../core/errors.ts';
import { parseJson } from '../../core/parse-json.ts';
import type { ServerContext } from '../../context.ts';
import { trackedWork } from '../../runtime/tracked-work.ts';
import { CaptionJsonBody, type CaptionOptions, captionOptionsFromForm, captionRequest, captionToken, collectCaption } from '../../caption/caption-request.ts';
import { decodeImage, imageBytesFromText } from '../../images/decode-image.ts';
import { resolveTaskModel } from '../../runtime/task-models.ts';
import { readText } from '../read-body.ts';
import { readForm } from '../read-form.ts';
import { requestSignal } from '../request-signal.ts';
import { sseResponse } from '../sse.ts';

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
    const abort = new AbortController();
    const request = captionRequest(engine.model, options, image, abort.signal);
    const attention = request.attention ?? false;
    const base = { id: `caption-${randomUUID().replace(/-/g, '')}`, model: loaded.name, ...(attention ? { attention_grid: engine.model.image!.grid ?? null } : {}) };
    const countTokens = (k: number) => ctx.metrics.generatedTokens.inc({ model: loaded.name }, k);

    if (options.stream) {
      const { value: events, leave } = ctx.admission.start(loaded.name, 'stream', () => engine.generate(request));
      return sseResponse(c, async (sink) => {
        sink.signal.addEventListener('abort', () => abort.abort(), { once: true });
        let tokens = 0;
        try {
          await ctx.metrics.track(loaded.name, 'caption_stream', async () => {
            for await (const e of events) {
              if (e.type === 'token') {
                tokens++;
                await sink.send(JSON.stringify({ type: 'caption.token', delta: e.delta, ...captionToken(e, attention) }));
              } else {
                await sink.send(JSON.stringify({ type: 'caption.done', ...base, caption: e.text, finish_reason: e.reason, usage: { completion_tokens: tokens } }));
              }
            }
          });
        } finally {
          countTokens(tokens);
          await events.return?.();
        }
      }, { log: ctx.log, onDone: leave });
    }

    requestSignal(c).addEventListener('abort', () => abort.abort(), { once: true });
    const result = await trackedWork(ctx, loaded.name, 'caption', () => collectCaption(engine.generate(request)));
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
