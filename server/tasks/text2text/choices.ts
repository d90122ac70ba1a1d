/**
 * A text2text request's events as OpenAI's legacy completion choices (`text`, `index` = prompt × n +
 * choice, `logprobs` as `{tokens, token_logprobs, top_logprobs, text_offset}`, `finish_reason`) and
 * seqserve's `attention` alignment. Runtime-agnostic: the server's `POST /v1/completions` and the
 * page's `complete()` answer with the same choices.
 */
import type { FinishEvent, TokenEvent } from '../../core/generation/generation-engine.ts';
import { encodePrompts, type Text2TextEvent, type Text2TextModel, type Text2TextRequest } from './index.ts';

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

export interface CompletionChoice {
  text: string;
  index: number;
  logprobs: CompletionLogprobs | null;
  finish_reason: 'stop' | 'length';
  /** With include_attention: a row per output token over the prompt's source tokens. */
  attention?: { source_tokens: string[]; output_tokens: string[]; weights: number[][] };
}

/** A token as OpenAI's completions report it: its text in the output, leading separator included (tokens join to the text). */
export function tokenText(e: TokenEvent): string {
  return e.delta || e.piece;
}

/** The separator before a token's piece in its delta (" " for all but a choice's first token of space-joined output). */
function separator(e: TokenEvent): string {
  return e.delta.endsWith(e.piece) ? e.delta.slice(0, e.delta.length - e.piece.length) : '';
}

/** OpenAI's completion logprobs for a choice's tokens, offsets counted from `start` (the prompt's length with echo). */
export function completionLogprobs(tokens: readonly TokenEvent[], start = 0): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let offset = start;
  for (const e of tokens) {
    const text = tokenText(e);
    const sep = separator(e);
    out.tokens.push(text);
    out.token_logprobs.push(e.logProb);
    out.top_logprobs.push(Object.fromEntries((e.top ?? []).map((t) => [sep + t.piece, t.logProb])));
    out.text_offset.push(offset);
    offset += text.length;
  }
  return out;
}

/** Each choice's tokens and finish, by choice index. */
export async function collectChoices(events: AsyncIterable<Text2TextEvent>, prompts: number, n: number): Promise<{ tokens: TokenEvent[]; finish?: FinishEvent }[]> {
  const choices = Array.from({ length: prompts * n }, () => ({ tokens: [] as TokenEvent[], finish: undefined as FinishEvent | undefined }));
  for await (const e of events) {
    const choice = choices[e.prompt * n + e.choice];
    if (e.type === 'token') choice.tokens.push(e);
    else choice.finish = e;
  }
  return choices;
}

/** The completion choices of collected events. */
export function formatChoices(
  request: Text2TextRequest,
  sourcePieces: readonly string[][],
  collected: readonly { tokens: TokenEvent[]; finish?: FinishEvent }[],
  echo: boolean,
): CompletionChoice[] {
  const n = request.generate.n ?? 1;
  return collected.map((ch, index) => {
    const prompt = Math.floor(index / n);
    const prefix = echo ? request.prompts[prompt] : '';
    return {
      text: prefix + (ch.finish?.text ?? ''),
      index,
      logprobs: request.generate.logProbs ? completionLogprobs(ch.tokens, prefix.length) : null,
      finish_reason: ch.finish?.reason ?? 'stop',
      ...(request.generate.attention
        ? { attention: { source_tokens: [...sourcePieces[prompt]], output_tokens: ch.tokens.map((t) => t.piece), weights: ch.tokens.map((t) => t.attention ?? []) } }
        : {}),
    };
  });
}

/** Runs to the end and answers as `POST /v1/completions` does (without streaming). */
export async function completionChoices(model: Text2TextModel, request: Text2TextRequest, events: AsyncIterable<Text2TextEvent>, echo: boolean): Promise<CompletionChoice[]> {
  const sources = encodePrompts(model, request);
  const collected = await collectChoices(events, request.prompts.length, request.generate.n ?? 1);
  return formatChoices(
    request,
    sources.map((s) => s.pieces),
    collected,
    echo,
  );
}
