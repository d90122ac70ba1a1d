/**
 * The chat model's tokens in words a visitor can read: a word its vocabulary lacks (a city name) is
 * read letter by letter — "@t" is a word's first letter, "#a" each next one — and "<user>" /
 * "<assistant>" mark whose turn follows. Letters of one spelled word are underlined together.
 */
import type { Header } from './attention-table.ts';

export const TOKEN_NOTE =
  'Words the model has no token for (city names) are read and written letter by letter, one column per letter, the letters of a word underlined together; “you:” marks the start of your message. Darker cells: more attention.';

export function readableToken(piece: string): Header {
  const turn = /^<(user|assistant|system)>$/.exec(piece);
  if (turn) return { text: turn[1] === 'user' ? 'you:' : `${turn[1]}:`, className: 'turn', title: `${piece}: the start of a ${turn[1]} turn` };
  if (/^[@#]./.test(piece)) {
    const first = piece[0] === '@';
    return { text: piece.slice(1), className: first ? 'spelled spelled-first' : 'spelled', title: `${piece}: ${first ? 'first letter' : 'next letter'} of a word spelled out` };
  }
  return piece;
}
