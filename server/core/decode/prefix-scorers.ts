/**
 * Scores that CTC prefix beam search adds to the acoustic log-probability of a prefix, token by
 * token: word n-gram language-model shallow fusion (alpha · ln P_LM + beta per word) and phrase
 * boosting (hotwords). A scorer's state is immutable and a pure function of the prefix's tokens,
 * so prefixes that merge in the beam carry the same score.
 */
import type { NgramLm } from './ngram-lm.ts';

export interface PrefixScorer<S = unknown> {
  initial(): S;
  /** Appends one token: the new state and the score it adds. */
  extend(state: S, token: number): { state: S; score: number };
  /** Score added when the hypothesis ends here (e.g. the last word's LM score, unfinished boosts taken back). */
  finish(state: S): number;
}

interface LmState {
  history: readonly string[];
  word: string;
  /** Score already given to the unfinished word (its lookahead and out-of-lexicon penalty), replaced when it ends. */
  partial: number;
}

export interface LmFusionOptions {
  /** Weight of ln P_LM. */
  alpha: number;
  /** Bonus per word (counters the LM's preference for short outputs). */
  beta: number;
  /**
   * Score unfinished words as they are spelled: each letter brings the prefix the best unigram ln P
   * (times alpha) of the vocabulary words it starts, so the beam keeps spellings that lead to words
   * the LM knows instead of judging them only at the space (wav2letter's "smearing").
   */
  lookahead?: boolean;
  /**
   * Penalty (natural-log units) on an unfinished word whose spelling has left the LM's vocabulary
   * (and `extraWords`): such prefixes fall out of the beam unless the audio strongly favours them.
   * When the word ends, its LM score (ln P of `<unk>`) replaces the penalty, as it replaces the lookahead.
   */
  oovPenalty?: number;
}

/**
 * Shallow fusion of a word n-gram LM into a character CTC beam; words end at the separator token.
 * With `lookahead` and `oovPenalty` it is a soft lexicon constraint: spellings outside the LM's
 * vocabulary (and `extraWords`, e.g. hotwords) pay the penalty from the letter that leaves it.
 */
export class WordLmScorer implements PrefixScorer<LmState> {
  private readonly extraPrefixes = new Set<string>();

  constructor(
    private readonly lm: NgramLm,
    private readonly alphabet: readonly string[],
    private readonly separator: number,
    private readonly options: LmFusionOptions,
    extraWords: readonly string[] = [],
  ) {
    for (const word of extraWords) for (let i = 1; i <= word.length; i++) this.extraPrefixes.add(word.slice(0, i));
  }

  initial(): LmState {
    return { history: ['<s>'], word: '', partial: 0 };
  }

  extend(state: LmState, token: number): { state: LmState; score: number } {
    if (token !== this.separator) {
      const word = state.word + this.alphabet[token];
      const partial = this.partialScore(word);
      return { state: { history: state.history, word, partial }, score: partial - state.partial };
    }
    if (!state.word) return { state, score: 0 };
    return { state: { history: this.keep([...state.history, state.word]), word: '', partial: 0 }, score: this.wordScore(state.history, state.word) - state.partial };
  }

  finish(state: LmState): number {
    let score = 0;
    let history = state.history;
    if (state.word) {
      score += this.wordScore(history, state.word) - state.partial;
      history = [...history, state.word];
    }
    return score + this.options.alpha * this.lm.score(history, '</s>');
  }

  /** What an unfinished word is worth so far: 0 without lookahead or penalty (the word is judged at its end). */
  private partialScore(word: string): number {
    const { lookahead, oovPenalty = 0 } = this.options;
    if (!lookahead && oovPenalty === 0) return 0;
    const best = this.lm.lookahead(word);
    if (best !== undefined) return lookahead ? this.options.alpha * best : 0;
    const known = this.extraPrefixes.has(word);
    return (lookahead ? this.options.alpha * this.lm.unk : 0) - (known ? 0 : oovPenalty);
  }

  private wordScore(history: readonly string[], word: string): number {
    return this.options.alpha * this.lm.score(history, word) + this.options.beta;
  }

  private keep(history: string[]): string[] {
    return history.slice(Math.max(0, history.length - (this.lm.order - 1)));
  }
}

export interface Hotword {
  phrase: string;
  /** Bonus per matched character (natural-log units). */
  boost: number;
}

interface TrieNode {
  children: Map<number, TrieNode>;
  end: boolean;
  boost: number;
}

interface HotwordState {
  node: TrieNode;
  /** Bonus given so far for the phrase being matched (taken back if it does not complete). */
  pending: number;
  atWordStart: boolean;
}

/** A hotword phrase's words as the decoders spell them: lower case, split at white space. */
export function phraseWords(phrase: string): string[] {
  return phrase.toLowerCase().split(/\s+/).filter(Boolean);
}

/**
 * Phrase boosting: every character of a listed phrase earns a bonus as it is matched from a word
 * start; a match that breaks off gives its bonus back, so only whole phrases keep it.
 */
export class HotwordScorer implements PrefixScorer<HotwordState> {
  private readonly root: TrieNode = { children: new Map(), end: false, boost: 0 };

  constructor(
    hotwords: readonly Hotword[],
    alphabet: readonly string[],
    private readonly separator: number,
  ) {
    const index = new Map(alphabet.map((c, i) => [c, i]));
    for (const { phrase, boost } of hotwords) {
      const text = phraseWords(phrase).join(alphabet[separator]);
      const tokens = [...text].map((c) => index.get(c));
      if (tokens.length === 0 || tokens.some((t) => t === undefined)) continue; // not spellable with this alphabet
      let node = this.root;
      for (const t of tokens as number[]) {
        let next = node.children.get(t);
        if (!next) node.children.set(t, (next = { children: new Map(), end: false, boost: 0 }));
        next.boost = Math.max(next.boost, boost);
        node = next;
      }
      node.end = true;
    }
  }

  get size(): number {
    return this.root.children.size;
  }

  initial(): HotwordState {
    return { node: this.root, pending: 0, atWordStart: true };
  }

  extend(state: HotwordState, token: number): { state: HotwordState; score: number } {
    const atWordStart = token === this.separator;
    const next = state.node !== this.root || state.atWordStart ? state.node.children.get(token) : undefined;
    if (next) {
      if (next.end && next.children.size === 0) return { state: { node: this.root, pending: 0, atWordStart }, score: next.boost };
      return { state: { node: next, pending: next.end ? 0 : state.pending + next.boost, atWordStart }, score: next.boost };
    }
    const score = -state.pending;
    const start = state.atWordStart ? this.root.children.get(token) : undefined;
    if (!start) return { state: { node: this.root, pending: 0, atWordStart }, score };
    const done = start.end && start.children.size === 0;
    return { state: { node: done ? this.root : start, pending: start.end ? 0 : start.boost, atWordStart }, score: score + start.boost };
  }

  finish(state: HotwordState): number {
    return -state.pending;
  }
}

/** Several scorers added together. */
export class CombinedScorer implements PrefixScorer<unknown[]> {
  constructor(private readonly scorers: readonly PrefixScorer[]) {}

  initial(): unknown[] {
    return this.scorers.map((s) => s.initial());
  }

  extend(state: unknown[], token: number): { state: unknown[]; score: number } {
    let score = 0;
    const next = this.scorers.map((s, i) => {
      const r = s.extend(state[i], token);
      score += r.score;
      return r.state;
    });
    return { state: next, score };
  }

  finish(state: unknown[]): number {
    return this.scorers.reduce((a, s, i) => a + s.finish(state[i]), 0);
  }
}
