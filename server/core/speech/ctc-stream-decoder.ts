/**
 * Turns a stream of CTC frame log-probabilities into utterances: greedy text as it grows, word
 * start/end times and confidences, and endpoints by trailing-silence rules (as sherpa-onnx does):
 * a blank or word-separator frame counts as silence.
 */
import { CtcPrefixBeam } from '../decode/ctc.ts';
import type { PrefixScorer } from '../decode/prefix-scorers.ts';

export interface WordTiming {
  word: string;
  /** Seconds from the start of the stream. */
  start: number;
  end: number;
  confidence: number;
}

export interface Transcript {
  text: string;
  words: WordTiming[];
  confidence: number;
  /** Seconds from the start of the stream. */
  start: number;
  end: number;
}

export interface EndpointRules {
  /** Seconds of trailing silence that end an utterance in which nothing was decoded. */
  silenceWithoutSpeech: number;
  /** Seconds of trailing silence that end an utterance after something was decoded. */
  silenceAfterSpeech: number;
  /** Longest utterance, in seconds. */
  maxUtterance: number;
}

export const DEFAULT_ENDPOINT_RULES: EndpointRules = { silenceWithoutSpeech: 2.4, silenceAfterSpeech: 1.2, maxUtterance: 20 };

export interface CtcStreamOptions {
  /** Output symbols by label id; the blank's entry is ignored. */
  alphabet: readonly string[];
  blank: number;
  /** The symbol that separates words (a space for character models). */
  wordSeparator: string;
  frameSeconds: number;
  rules?: EndpointRules;
  /**
   * Prefix beam width; 0 = greedy only. With a beam, transcripts (text, words, times) come from its
   * best hypothesis, ranked with the scorer (LM fusion, hotwords) if one is given; endpointing stays greedy.
   */
  beamWidth?: number;
  scorer?: PrefixScorer;
}

interface Emission {
  label: number;
  frame: number;
  prob: number;
}

export class CtcStreamDecoder {
  private readonly rules: EndpointRules;
  private readonly separator: number;
  private frame = 0; // absolute frame index of the next frame
  private utteranceStart = 0;
  private lastSpeechFrame = -1; // last frame that emitted a non-separator label
  private prev: number;
  private emissions: Emission[] = [];
  private beam: CtcPrefixBeam | undefined;

  constructor(private readonly options: CtcStreamOptions) {
    this.rules = options.rules ?? DEFAULT_ENDPOINT_RULES;
    this.separator = options.alphabet.indexOf(options.wordSeparator);
    this.prev = options.blank;
    this.beam = this.newBeam();
  }

  private newBeam(): CtcPrefixBeam | undefined {
    const width = this.options.beamWidth ?? 0;
    if (width <= 0) return undefined;
    const { alphabet, blank, scorer } = this.options;
    return new CtcPrefixBeam(alphabet.length, { beamWidth: width, blank, tokenLogProbFloor: Math.log(1e-4), ...(scorer ? { scorer } : {}) });
  }

  /** Seconds of audio decoded so far in the stream. */
  get seconds(): number {
    return this.frame * this.options.frameSeconds;
  }

  /** Seconds since the last decoded letter (or since the utterance began, if none was): the CTC-blank rule's silence. */
  get trailingSilence(): number {
    const spoke = this.emissions.some((e) => e.label !== this.separator);
    return (this.frame - (spoke ? this.lastSpeechFrame + 1 : this.utteranceStart)) * this.options.frameSeconds;
  }

  /** Consumes `frames` rows of log-probabilities; returns true when the utterance has ended. */
  accept(logProbs: ArrayLike<number>, frames: number): boolean {
    const V = this.options.alphabet.length;
    this.beam?.push(logProbs, frames);
    for (let t = 0; t < frames; t++, this.frame++) {
      let best = 0;
      for (let v = 1; v < V; v++) if (logProbs[t * V + v] > logProbs[t * V + best]) best = v;
      if (best !== this.options.blank && best !== this.prev) {
        this.emissions.push({ label: best, frame: this.frame, prob: Math.exp(logProbs[t * V + best]) });
        if (best !== this.separator) this.lastSpeechFrame = this.frame;
      } else if (best === this.prev && best !== this.options.blank && best !== this.separator) {
        this.lastSpeechFrame = this.frame;
      }
      this.prev = best;
    }
    return this.endpointReached();
  }

  private endpointReached(): boolean {
    const fs = this.options.frameSeconds;
    const utterance = (this.frame - this.utteranceStart) * fs;
    if (utterance >= this.rules.maxUtterance) return true;
    const spoke = this.emissions.some((e) => e.label !== this.separator);
    const silenceFrom = spoke ? this.lastSpeechFrame + 1 : this.utteranceStart;
    const silence = (this.frame - silenceFrom) * fs;
    return spoke ? silence >= this.rules.silenceAfterSpeech : silence >= this.rules.silenceWithoutSpeech;
  }

  /** The utterance so far: the beam's best hypothesis when a beam runs, else the greedy path. */
  partial(final = false): Transcript {
    if (!this.beam) return this.transcript(this.emissions);
    const [best] = this.beam.hypotheses(final);
    return this.transcript(best.tokens.map((label, i) => ({ label, frame: this.utteranceStart + best.frames[i], prob: best.probs[i] })));
  }

  private transcript(emissions: readonly Emission[]): Transcript {
    const fs = this.options.frameSeconds;
    const words: WordTiming[] = [];
    let current: Emission[] = [];
    const flush = () => {
      if (current.length === 0) return;
      const word = current.map((e) => this.options.alphabet[e.label]).join('');
      const confidence = current.reduce((a, e) => a + e.prob, 0) / current.length;
      words.push({ word, start: current[0].frame * fs, end: (current[current.length - 1].frame + 1) * fs, confidence: round(confidence) });
      current = [];
    };
    for (const e of emissions) {
      if (e.label === this.separator) flush();
      else current.push(e);
    }
    flush();
    const confidence = words.length ? words.reduce((a, w) => a + w.confidence, 0) / words.length : 0;
    return { text: words.map((w) => w.word).join(' '), words, confidence: round(confidence), start: this.utteranceStart * fs, end: this.frame * fs };
  }

  /** Up to `n` alternative texts with log-probabilities from the prefix beam (if enabled). */
  alternatives(n: number): { text: string; logProb: number }[] {
    if (!this.beam) return [];
    const sep = this.options.wordSeparator;
    const seen = new Set<string>();
    const out: { text: string; logProb: number }[] = [];
    for (const h of this.beam.hypotheses(true)) {
      const text = h.tokens
        .map((l) => this.options.alphabet[l])
        .join('')
        .split(sep)
        .filter(Boolean)
        .join(' ');
      if (seen.has(text)) continue;
      seen.add(text);
      out.push({ text, logProb: h.logProb });
      if (out.length === n) break;
    }
    return out;
  }

  /** Ends the current utterance: returns it and starts the next one at the current frame. */
  finalize(): Transcript {
    const t = this.partial(true);
    this.utteranceStart = this.frame;
    this.lastSpeechFrame = this.frame - 1;
    this.emissions = [];
    this.beam = this.newBeam();
    return t;
  }
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
