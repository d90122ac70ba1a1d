/**
 * Incremental detokenisation: the text each new token adds, without decoding the whole sequence
 * again. The tokenizer's decode must be local, as SpelledWordTokenizer's is: the text a token adds
 * depends only on the last earlier token that produced text (whether that was a spelled letter, and
 * how its text ends). So each token is decoded in a short window that starts at that token, and its
 * delta is what the window's text gains (incremental-detokenizer.test.ts checks the assumption).
 */
export interface Detokenizer {
  decode(ids: readonly number[]): string;
}

export class IncrementalDetokenizer {
  /** Where the window starts: the last token that produced text. */
  private start = 0;
  /** Text of the window before the newest token. */
  private windowText = '';

  constructor(private readonly tokenizer: Detokenizer) {}

  /** `tokens` is the sequence so far, its last token new (earlier ones as in previous calls); returns the text it adds. */
  next(tokens: readonly number[]): string {
    const last = tokens.length - 1;
    const text = this.tokenizer.decode(tokens.slice(this.start));
    const delta = text.slice(this.windowText.length);
    if (delta) {
      this.start = last;
      this.windowText = this.tokenizer.decode(tokens.slice(last));
    } else this.windowText = text;
    return delta;
  }
}
