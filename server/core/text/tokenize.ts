/** A token of the input text with its character offsets (`text.slice(start, end) === text`). */
export interface Token {
  text: string;
  start: number;
  end: number;
}

// Mirrors models/_recipe_common/text_features.py TOKEN_RE: times, numbers with ordinal suffix,
// words with one apostrophe part, then any other non-space character on its own.
const TOKEN_RE = /\d+:\d+|\d+(?:st|nd|rd|th)?|\p{L}+(?:'\p{L}+)?|[^\p{L}\d\s]/gu;

export function tokenizeWords(text: string): Token[] {
  const tokens: Token[] = [];
  for (const m of text.matchAll(TOKEN_RE)) {
    const start = m.index;
    tokens.push({ text: m[0], start, end: start + m[0].length });
  }
  return tokens;
}
