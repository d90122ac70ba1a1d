/**
 * What a chat-completion request generates from: the conversation's text for a chat model, or, when
 * a message carries an image (OpenAI vision input: an `image_url` part holding a data: URL), that
 * image for a caption model (for a video caption model: one animated GIF/WebP part, or several
 * image parts of one message as the clip's frames in order). Shared by the HTTP route and the gRPC
 * service.
 */
import { invalidArgument } from '../../../core/errors.ts';
import type { GenerateRequest } from '../../../core/generation/generation-engine.ts';
import type { GenerationEngine } from '../../../core/generation/generation-engine.ts';
import type { ServerContext } from '../../../context.ts';
import { decodeImage, imageBytesFromText } from '../../../images/decode-image.ts';
import { captionSource, type CaptionInput } from '../../../images/decode-video.ts';
import type { LoadedModel } from '../../../runtime/model-repository.ts';
import { resolveTaskModel } from '../../../runtime/task-models.ts';
import { type ChatCompletionRequest, generateRequest, promptTokens } from '../request.ts';

export interface ChatGeneration {
  loaded: LoadedModel;
  engine: GenerationEngine;
  request: GenerateRequest;
  /** Encoder positions the prompt took (tokens, or image regions). */
  promptTokens: number;
  /** A label per encoder position, for attention: source tokens, or "r{row}c{col}" image regions. */
  sourcePieces: string[];
}

/** The image parts of the last message that has any, in order, with their field names for errors (a video caption model's frames; a caption model takes the last). */
function imageParts(messages: ChatCompletionRequest['messages']): { url: string; field: string }[] {
  for (let i = messages.length - 1; i >= 0; i--) {
    const content = messages[i].content;
    if (typeof content === 'string') continue;
    const parts = content.flatMap((part, j) => (part.type === 'image_url' ? [{ url: part.image_url.url, field: `messages[${i}].content[${j}].image_url.url` }] : []));
    if (parts.length > 0) return parts;
  }
  return [];
}

export async function chatGeneration(ctx: ServerContext, body: ChatCompletionRequest): Promise<ChatGeneration> {
  const parts = imageParts(body.messages);
  const image = parts.at(-1);
  if (!image) {
    const loaded = resolveTaskModel(ctx.repository, 'chat', body.model);
    const engine = loaded.taskModel;
    const { tokens, sourcePieces } = promptTokens(engine.model, body.messages);
    return { loaded, engine, request: generateRequest(engine.model, body, tokens), promptTokens: tokens.length, sourcePieces };
  }
  if (body.model !== undefined && ctx.repository.model(body.model).manifest.task !== 'caption')
    throw invalidArgument(image.field, `model "${body.model}" does not take images; use a caption model`);
  const loaded = resolveTaskModel(ctx.repository, 'caption', body.model);
  const engine = loaded.taskModel;
  const { video } = engine.model;
  if (video) {
    // a video caption model: one animated image part is a clip; several image parts of the message are its frames, in order
    const bytes = parts.map((p) => imageBytesFromText(p.url, p.field));
    const input: CaptionInput =
      parts.length === 1
        ? { image: { bytes: bytes[0], field: parts[0].field } }
        : { frames: { bytes, field: parts[0].field.replace(/\.content\[\d+\].*$/, '.content'), fields: parts.map((p) => p.field) } };
    const clip = await captionSource(engine.model, input, ctx.config.limits.maxImagePixels);
    const frames = Array.from({ length: video.frames }, (_, k) => `f${k}`);
    return { loaded, engine, request: generateRequest(engine.model, body, clip), promptTokens: frames.length, sourcePieces: frames };
  }
  const spec = engine.model.image!;
  const pixels = await decodeImage(imageBytesFromText(image.url, image.field), spec, ctx.config.limits.maxImagePixels, image.field);
  const [rows, cols] = spec.grid ?? [1, 1];
  const regions = Array.from({ length: rows * cols }, (_, k) => `r${Math.floor(k / cols)}c${k % cols}`);
  return { loaded, engine, request: generateRequest(engine.model, body, pixels), promptTokens: regions.length, sourcePieces: regions };
}
