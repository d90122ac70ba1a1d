/**
 * Which CTC decoder a recognition request gets: greedy (cheapest; partials and endpointing always
 * use it) or a prefix beam with the model's language model and the request's hotwords.
 */
import { CombinedScorer, HotwordScorer, phraseWords, type PrefixScorer, WordLmScorer } from '../decode/prefix-scorers.ts';
import type { AcousticModel } from './recognizer-stream.ts';

export interface DecodingRequest {
  /** Alternatives wanted (beam search gives them). */
  alternatives?: number;
  /** Phrases to favour, with an optional boost each (Google's speech_contexts). */
  hotwords?: { phrase: string; boost?: number }[];
  /** Force a decoder; by default the manifest decides (`decoding.beam.default`), and hotwords or alternatives > 1 need the beam. */
  decoder?: 'greedy' | 'beam';
  /**
   * A live stream (audio arriving in real time): greedy unless it asks for alternatives or hotwords,
   * whatever the manifest's default — the beam with an LM costs several times more CPU per frame and
   * would cut the number of real-time streams a machine serves.
   */
  live?: boolean;
}

export interface DecodingChoice {
  beamWidth: number;
  scorer?: PrefixScorer;
}

export function decodingFor(model: AcousticModel, request: DecodingRequest = {}): DecodingChoice {
  const alternatives = request.alternatives ?? 1;
  const hotwords = (request.hotwords ?? []).filter((h) => h.phrase.trim());
  const byDefault = model.beam.byDefault && !request.live;
  const wantsBeam = request.decoder ? request.decoder === 'beam' : byDefault || alternatives > 1 || hotwords.length > 0;
  if (!wantsBeam) return { beamWidth: 0 };
  const separator = model.alphabet.indexOf(' ');
  const scorers: PrefixScorer[] = [];
  // hotwords count as vocabulary for the LM's lexicon constraint (a new name must not pay its out-of-vocabulary penalty)
  const hotwordWords = hotwords.flatMap((h) => phraseWords(h.phrase));
  if (model.lm && separator >= 0) scorers.push(new WordLmScorer(model.lm.model, model.alphabet, separator, model.lm, hotwordWords));
  if (hotwords.length > 0 && separator >= 0) {
    scorers.push(
      new HotwordScorer(
        hotwords.map((h) => ({ phrase: h.phrase, boost: model.beam.hotwordBonus + Math.max(0, h.boost ?? 0) * 0.1 })),
        model.alphabet,
        separator,
      ),
    );
  }
  const width = request.live ? Math.min(model.beam.width, model.beam.liveWidth ?? model.beam.width) : model.beam.width;
  const beamWidth = Math.max(width, alternatives * 2);
  if (scorers.length === 0) return { beamWidth };
  return { beamWidth, scorer: scorers.length === 1 ? scorers[0] : new CombinedScorer(scorers) };
}
