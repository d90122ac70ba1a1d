/**
 * Caption requests: the options shared by `POST /v1/captions` (JSON or multipart) and the gRPC
 * Caption call, their translation into a generation-engine request, and the result collected from
 * the engine's events. Captions default to greedy decoding (temperature 0).
 */
import { z } from 'zod';
import { invalidArgument } from '../../core/errors.ts';
import type { GenerateRequest, GenerationEvent, ImageSource, TokenEvent } from '../../core/generation/generation-engine.ts';
import type { Seq2SeqModel } from '../../core/generation/seq2seq-model.ts';
import { issueField } from '../../core/parse-json.ts';
import { DecodingParams, decodingRequest } from '../decoding-params.ts';

export const CaptionOptions = DecodingParams.extend({
  model: z.string().min(1).optional(),
  stream: z.boolean().nullish(),
});
export type CaptionOptions = z.infer<typeof CaptionOptions>;

/** The most pictures a `frames` list may hold (a video model's manifest bounds it further: video.maxFrames). */
export const MAX_FRAME_LIST = 4096;

/**
 * JSON body: the options plus `image` (base64, or a data: URL; for a video model an animated GIF or
 * WebP), or `frames` (a video model: pictures in order, each base64 or a data: URL).
 */
export const CaptionJsonBody = CaptionOptions.extend({
  image: z.string({ error: 'must be a string (base64 or a data: URL)' }).min(1, 'is empty').optional(),
  frames: z
    .array(z.string({ error: 'must be a string (base64 or a data: URL)' }).min(1, 'is empty'))
    .max(MAX_FRAME_LIST)
    .optional(),
});

const NUMBER_FIELDS = ['max_tokens', 'temperature', 'top_p', 'top_k', 'seed', 'beam_width', 'length_penalty', 'top_logprobs', 'repetition_penalty'] as const;
const BOOLEAN_FIELDS = ['include_attention', 'stream'] as const;

/** Options from multipart text fields ("0.5", "true"): converted, then validated like JSON. */
export function captionOptionsFromForm(form: FormData): CaptionOptions {
  const raw: Record<string, unknown> = {};
  const text = (name: string) => {
    const v = form.get(name);
    if (v !== null && typeof v !== 'string') throw invalidArgument(name, 'must be a text field');
    return v;
  };
  const model = text('model');
  if (model) raw.model = model;
  for (const name of NUMBER_FIELDS) {
    const v = text(name);
    if (v === null || v === '') continue;
    const n = Number(v);
    if (!Number.isFinite(n)) throw invalidArgument(name, `"${v}" is not a number`);
    raw[name] = n;
  }
  for (const name of BOOLEAN_FIELDS) {
    const v = text(name);
    if (v === null || v === '') continue;
    if (v !== 'true' && v !== 'false') throw invalidArgument(name, 'must be true or false');
    raw[name] = v === 'true';
  }
  return validateCaptionOptions(raw);
}

export function validateCaptionOptions(raw: unknown): CaptionOptions {
  const parsed = CaptionOptions.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw invalidArgument(issueField(issue), issue.message);
}

export function captionRequest(model: Seq2SeqModel, o: CaptionOptions, image: ImageSource): GenerateRequest {
  return {
    source: image,
    // captions decode greedily unless asked otherwise
    ...decodingRequest(o, model.spec.maxNewTokens, { temperature: 0 }),
  };
}

/**
 * What a caption response says its attention is over: the image's region grid (`attention_grid`:
 * rows, columns), or a clip's sampled frames (`attention_frames`: how many).
 */
export function attentionLayout(model: Seq2SeqModel): { attention_grid: number[] | null } | { attention_frames: number } {
  if (model.video) return { attention_frames: model.video.frames };
  return { attention_grid: model.image?.grid ?? null };
}

/** A token as the caption APIs report it. */
export function captionToken(e: TokenEvent, attention: boolean): Record<string, unknown> {
  return {
    token: e.piece,
    logprob: e.logProb,
    ...(e.top ? { top_logprobs: e.top.map((t) => ({ token: t.piece, logprob: t.logProb })) } : {}),
    ...(attention ? { attention: e.attention ?? [] } : {}),
  };
}

export interface CaptionResult {
  caption: string;
  finishReason: 'stop' | 'length';
  tokens: TokenEvent[];
}

export async function collectCaption(events: AsyncIterable<GenerationEvent>): Promise<CaptionResult> {
  const tokens: TokenEvent[] = [];
  for await (const e of events) {
    if (e.type === 'token') tokens.push(e);
    else return { caption: e.text, finishReason: e.reason, tokens };
  }
  return { caption: '', finishReason: 'stop', tokens };
}
