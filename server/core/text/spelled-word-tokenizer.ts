/**
 * Word tokens for words the vocabulary knows, spelled-out characters for the rest: "@c" for a
 * word's first character, "#c" for each following one (names the model never saw can still be read
 * and copied). Mirrors models/chat/recipe/tokenizer.py; the fixtures it writes are checked by a test.
 */
const WORD = /[a-z0-9']+|[.,?!:/]/g;
const PUNCT = new Set(['.', ',', '?', '!', ':', '/']);

export function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

export class SpelledWordTokenizer {
  private readonly index: Map<string, number>;

  constructor(
    readonly vocab: readonly string[],
    private readonly unk: number,
    private readonly specials: ReadonlySet<number>,
  ) {
    this.index = new Map(vocab.map((t, i) => [t, i]));
  }

  get size(): number {
    return this.vocab.length;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const w of words(text)) {
      const id = this.index.get(w);
      if (id !== undefined && !w.startsWith('@') && !w.startsWith('#') && !w.startsWith('<')) {
        out.push(id);
        continue;
      }
      [...w].forEach((c, i) => out.push(this.index.get((i === 0 ? '@' : '#') + c) ?? this.unk));
    }
    return out;
  }

  private isChar(t: string): boolean {
    return t.length === 2 && (t[0] === '@' || t[0] === '#');
  }

  /** How one token reads on its own: a word, punctuation, or the letter a spelling token stands for. */
  piece(id: number): string {
    const t = this.vocab[id] ?? '';
    return this.isChar(t) ? t[1] : t;
  }

  decode(ids: readonly number[]): string {
    const pieces: { text: string; spelled: boolean }[] = [];
    for (const id of ids) {
      if (this.specials.has(id)) continue;
      const t = this.vocab[id];
      if (t === undefined) continue;
      const last = pieces[pieces.length - 1];
      if (t[0] === '#' && t.length === 2 && last?.spelled) last.text += t[1];
      else pieces.push({ text: this.isChar(t) ? t[1] : t, spelled: this.isChar(t) });
    }
    let text = '';
    for (const { text: w } of pieces) {
      if (text && !PUNCT.has(w) && !text.endsWith('/') && !text.endsWith(':')) text += ' ';
      text += w;
    }
    return text;
  }
}
