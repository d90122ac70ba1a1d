/**
 * CTC decoders side by side (`BENCH_ONLY=decoders npm run bench`): the bundled recognizer's
 * log-probabilities for its committed held-out sample (40 utterances, computed once), decoded in
 * process by the code the server and the browser run: greedy; the prefix beam with the LM judged
 * only at word ends (the settings bundled before session 23: width 8, alpha 0.2, beta 2); and the
 * beam with unigram lookahead and the out-of-vocabulary penalty at widths 32 and 64 (the manifest's
 * weights). Reports WER on the sample and CPU time per second of audio (one thread, the main one).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { ctcGreedy, ctcPrefixBeamSearch } from '../server/core/decode/ctc.ts';
import { NgramLm } from '../server/core/decode/ngram-lm.ts';
import { type LmFusionOptions, WordLmScorer } from '../server/core/decode/prefix-scorers.ts';
import { wordErrors } from '../server/core/text/edit-distance.ts';
import { readRecognizerManifest, type Utterance, utteranceLogProbs } from '../models/asr/recipe/utterance-log-probs.ts';
import { percentile } from './stats.ts';

const DIR = path.join(BUNDLED_MODELS_DIR, 'asr');
const ms = (x: number) => x.toFixed(x < 0.1 ? 4 : 2);

export async function benchCtcDecoders(repeats = Number(process.env.BENCH_DECODER_REPEATS ?? 3)): Promise<string> {
  const manifest = readRecognizerManifest(DIR);
  const settings = manifest.decoding.beam;
  if (!settings?.lm) throw new Error(`${DIR}/manifest.json: no decoding.beam.lm to measure`);
  const alphabet = JSON.parse(readFileSync(path.join(DIR, manifest.decoding.alphabet), 'utf8')) as string[];
  const lm = NgramLm.fromArpa(readFileSync(path.join(DIR, settings.lm.file), 'utf8'));
  const separator = alphabet.indexOf(' ');
  const utts = await utteranceLogProbs(DIR, manifest, path.join(DIR, 'heldout-sample'), 1);
  const audioSeconds = utts.reduce((a, u) => a + u.seconds, 0);
  const bundled: LmFusionOptions = settings.lm;
  const beam = (width: number, fusion: LmFusionOptions) => (u: Utterance) =>
    ctcPrefixBeamSearch(u.logProbs, u.frames, alphabet.length, {
      beamWidth: width,
      blank: 0,
      tokenLogProbFloor: Math.log(1e-4),
      scorer: new WordLmScorer(lm, alphabet, separator, fusion),
    })[0].tokens;
  const rows: [string, (u: Utterance) => number[]][] = [
    ['greedy', (u) => ctcGreedy(u.logProbs, u.frames, alphabet.length, 0).tokens],
    ['beam 8, LM at word ends (alpha 0.2, beta 2; bundled before)', beam(8, { alpha: 0.2, beta: 2 })],
    [`beam 32, lookahead + OOV penalty ${bundled.oovPenalty} (alpha ${bundled.alpha}, beta ${bundled.beta})`, beam(32, bundled)],
    [`beam ${settings.liveWidth}, the same (live streams that ask for hotwords or alternatives: liveWidth)`, beam(settings.liveWidth, bundled)],
    [`beam ${settings.width}, the same (bundled)`, beam(settings.width, bundled)],
  ];
  const text = (tokens: number[]) =>
    tokens
      .map((t) => alphabet[t])
      .join('')
      .split(' ')
      .filter(Boolean)
      .join(' ');
  const lines = [
    "### CTC decoders on the recognizer's committed sample (`BENCH_ONLY=decoders`)",
    '',
    `${utts.length} utterances, ${audioSeconds.toFixed(1)} s of audio; log-probabilities computed once, then each decoder run ${repeats} times in process on the main thread (the code the server and the page run). CPU ms per second of audio: p50 and p99 over utterances.`,
    '',
    '| decoder | sample WER | ms per audio second, all (best of runs) | p50 ms / s | p99 ms / s |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const [name, decode] of rows) {
    let errors = 0;
    let words = 0;
    for (const u of utts) {
      errors += wordErrors(u.text, text(decode(u)));
      words += u.text.split(' ').length;
    }
    let best = Infinity;
    const perUtterance: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      for (const u of utts) {
        const t = performance.now();
        decode(u);
        if (r === repeats - 1) perUtterance.push((performance.now() - t) / u.seconds);
      }
      best = Math.min(best, performance.now() - t0);
    }
    perUtterance.sort((a, b) => a - b);
    lines.push(`| ${name} | ${((errors / words) * 100).toFixed(1)} % | ${ms(best / audioSeconds)} | ${ms(percentile(perUtterance, 50))} | ${ms(percentile(perUtterance, 99))} |`);
  }
  return lines.join('\n');
}
