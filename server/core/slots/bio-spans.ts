import type { Token } from '../text/tokenize.ts';

export interface Slot {
  name: string;
  value: string;
  /** Character offsets into the input text. */
  start: number;
  end: number;
  /** Mean marginal probability of the span's tags. */
  confidence: number;
}

/**
 * Groups BIO tags into slots. An I- tag that does not continue a span of the same name starts one
 * (the conlleval convention), so no tagged token is dropped.
 */
export function bioSpans(text: string, tokens: readonly Token[], tags: readonly string[], tagProbs: readonly number[]): Slot[] {
  const slots: Slot[] = [];
  let open: { name: string; first: number; last: number } | undefined;
  const close = () => {
    if (!open) return;
    const start = tokens[open.first].start;
    const end = tokens[open.last].end;
    const probs = tagProbs.slice(open.first, open.last + 1);
    const confidence = probs.reduce((a, b) => a + b, 0) / probs.length;
    slots.push({ name: open.name, value: text.slice(start, end), start, end, confidence: Math.round(confidence * 1e4) / 1e4 });
    open = undefined;
  };
  tags.forEach((tag, i) => {
    const name = tag.length > 2 && tag[1] === '-' ? tag.slice(2) : undefined;
    if (open && tag.startsWith('I-') && open.name === name) {
      open.last = i;
      return;
    }
    close();
    if (name !== undefined) open = { name, first: i, last: i };
  });
  close();
  return slots;
}
