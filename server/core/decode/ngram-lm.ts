/**
 * A word n-gram language model read from the ARPA text format (as written by KenLM, SRILM or our
 * recipes): log10 probabilities and back-off weights, queried with back-off. Scores are returned
 * as natural logarithms.
 */
import { SeqserveError } from '../errors.ts';

const LN10 = Math.log(10);

interface Entry {
  logProb: number; // ln
  backoff: number; // ln
}

export class NgramLm {
  readonly order: number;
  private readonly entries: Map<string, Entry>;
  /** For every prefix of a vocabulary word: the best unigram ln P of the words it starts (the lookahead). */
  private readonly prefixes = new Map<string, number>();
  /** ln P of a word the LM does not know. */
  readonly unk: number;

  private constructor(order: number, entries: Map<string, Entry>) {
    this.order = order;
    this.entries = entries;
    for (const [key, { logProb }] of entries) {
      if (key.includes(' ') || key.startsWith('<')) continue; // n-grams, and <s>, </s>, <unk>
      for (let i = 1; i <= key.length; i++) {
        const prefix = key.slice(0, i);
        if (!(this.prefixes.get(prefix)! >= logProb)) this.prefixes.set(prefix, logProb);
      }
    }
    this.unk = entries.get('<unk>')?.logProb ?? -10 * LN10;
  }

  /** Parses an ARPA file; `source` names it in errors. */
  static fromArpa(text: string, source = 'lm'): NgramLm {
    const entries = new Map<string, Entry>();
    let order = 0;
    let section = 0;
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line || line === '\\data\\' || line.startsWith('ngram ')) continue;
      if (line === '\\end\\') break;
      const header = /^\\(\d+)-grams:$/.exec(line);
      if (header) {
        section = Number(header[1]);
        order = Math.max(order, section);
        continue;
      }
      if (section === 0) throw new SeqserveError('failed_precondition', `${source}: line ${i + 1}: expected an ARPA section header`);
      const fields = line.split(/\s+/);
      const logProb = Number(fields[0]);
      const words = fields.slice(1, 1 + section);
      const backoff = fields.length > 1 + section ? Number(fields[1 + section]) : 0;
      if (words.length !== section || !Number.isFinite(logProb) || !Number.isFinite(backoff)) {
        throw new SeqserveError('failed_precondition', `${source}: line ${i + 1}: not a ${section}-gram entry`);
      }
      entries.set(words.join(' '), { logProb: logProb * LN10, backoff: backoff * LN10 });
    }
    if (order === 0) throw new SeqserveError('failed_precondition', `${source}: no n-grams (not an ARPA file?)`);
    return new NgramLm(order, entries);
  }

  /** ln P(word | history); only the last order-1 words of the history matter. */
  score(history: readonly string[], word: string): number {
    const context = history.slice(Math.max(0, history.length - (this.order - 1)));
    let backoff = 0;
    for (let start = 0; start <= context.length; start++) {
      const ctx = context.slice(start);
      const hit = this.entries.get([...ctx, word].join(' '));
      if (hit) return backoff + hit.logProb;
      if (ctx.length > 0) backoff += this.entries.get(ctx.join(' '))?.backoff ?? 0;
    }
    return backoff + this.unk;
  }

  /** True when some vocabulary word starts with `prefix`. */
  hasPrefix(prefix: string): boolean {
    return this.prefixes.has(prefix);
  }

  /** The best unigram ln P among vocabulary words that start with `prefix`; undefined when none does. */
  lookahead(prefix: string): number | undefined {
    return this.prefixes.get(prefix);
  }

  has(word: string): boolean {
    return this.entries.has(word);
  }
}
