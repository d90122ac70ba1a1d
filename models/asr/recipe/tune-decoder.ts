/**
 * Runs seqserve's CTC decoders on the exported recognizer: greedy, prefix beam, and beam with
 * word n-gram LM fusion (with unigram lookahead and an out-of-vocabulary penalty: a soft lexicon
 * constraint), whose weights (alpha, beta, penalty) are chosen on the dev split. Reports WER/CER on
 * every held-out test set (DIR/sets.json names them; `test` alone without it) into metrics.json and the chosen beam settings into DIR/beam.json, which
 * decoder_eval.py puts into manifest.json (decoding.beam) through models/_recipe_common/manifest.py.
 *
 *   node --import tsx models/asr/recipe/tune-decoder.ts --model models/asr --eval DIR   (DIR/{dev,test}/transcripts.jsonl + wavs)
 * (decoder_eval.py prepares DIR and calls this; --quick tries one weight pair, for smoke runs;
 * --sample-only re-scores the committed heldout-sample/ with the manifest's weights.)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ctcGreedy, ctcPrefixBeamSearch } from '../../../server/core/decode/ctc.ts';
import { NgramLm } from '../../../server/core/decode/ngram-lm.ts';
import { type LmFusionOptions, WordLmScorer } from '../../../server/core/decode/prefix-scorers.ts';
import { characterErrors, wordErrors } from '../../../server/core/text/edit-distance.ts';
import { readRecognizerManifest, type Utterance, utteranceLogProbs } from './utterance-log-probs.ts';

const { values } = parseArgs({ options: { model: { type: 'string' }, eval: { type: 'string' }, width: { type: 'string' }, quick: { type: 'boolean', default: false }, 'sample-only': { type: 'boolean', default: false }, fixed: { type: 'boolean', default: false } } });
const modelDir = values.model!;
const evalDir = values.eval!;
const manifest = readRecognizerManifest(modelDir);
// the beam's width: --width; else the manifest's for --sample-only and --fixed (they re-score its settings), else 64
// (chosen over 32 on dev for the bundled recognizer in session 23: 18.5 against 18.9 % WER, at twice the CPU)
const width = values.width ? Number(values.width) : values['sample-only'] || values.fixed ? (manifest.decoding.beam?.width ?? 8) : 64;
const alphabet = JSON.parse(readFileSync(path.join(modelDir, 'alphabet.json'), 'utf8')) as string[];
const V = alphabet.length;
const SEP = alphabet.indexOf(' ');

const logProbsOf = (dir: string) => utteranceLogProbs(modelDir, manifest, dir, 2);

const textOf = (tokens: number[]) => tokens.map((t) => alphabet[t]).join('').split(' ').filter(Boolean).join(' ');

function score(utts: Utterance[], decode: (u: Utterance) => number[]) {
  let we = 0, w = 0, ce = 0, c = 0;
  for (const u of utts) {
    const hyp = textOf(decode(u));
    we += wordErrors(u.text, hyp);
    w += u.text.split(' ').length;
    ce += characterErrors(u.text, hyp);
    c += u.text.length;
  }
  return { wer: Math.round((we / w) * 1e4) / 1e4, cer: Math.round((ce / c) * 1e4) / 1e4, utterances: utts.length };
}

const lm = NgramLm.fromArpa(readFileSync(path.join(modelDir, 'lm.arpa'), 'utf8'), 'lm.arpa');
const greedy = (u: Utterance) => ctcGreedy(u.logProbs, u.frames, V, 0).tokens;
const beam = (fusion?: LmFusionOptions, beamWidth = width) => (u: Utterance) =>
  ctcPrefixBeamSearch(u.logProbs, u.frames, V, {
    beamWidth,
    blank: 0,
    tokenLogProbFloor: Math.log(1e-4),
    ...(fusion ? { scorer: new WordLmScorer(lm, alphabet, SEP, fusion) } : {}),
  })[0].tokens;

const metricsFile = path.join(modelDir, 'metrics.json');
const metrics = JSON.parse(readFileSync(metricsFile, 'utf8'));
// The committed held-out sample (the first test utterances), which a test re-checks through the API.
const sampleOf = async (fusion: LmFusionOptions) => {
  const sample = await logProbsOf(path.join(modelDir, 'heldout-sample'));
  return { greedy: score(sample, greedy), beamLm: score(sample, beam(fusion)) };
};
// the fusion weights of the manifest's LM (parsed: lookahead and oovPenalty have their schema defaults)
const manifestFusion = (): Required<LmFusionOptions> => {
  const lm = manifest.decoding.beam?.lm;
  if (!lm) throw new Error(`${modelDir}/manifest.json: decoding.beam.lm is needed to re-score its settings`);
  return { alpha: lm.alpha, beta: lm.beta, lookahead: lm.lookahead, oovPenalty: lm.oovPenalty };
};

if (values['sample-only']) {
  // Re-scores the committed sample with the weights already in the manifest.
  metrics.decoders = { ...metrics.decoders, sample: await sampleOf(manifestFusion()) };
  console.log(JSON.stringify(metrics.decoders.sample, null, 2));
} else {
  const dev = values.fixed ? [] : await logProbsOf(path.join(evalDir, 'dev'));
  // every held-out test set decoder_eval.py wrote (sets.json): test (espeak-ng held-out voices), flite_heldout, festival, real
  const setNames: string[] = existsSync(path.join(evalDir, 'sets.json')) ? JSON.parse(readFileSync(path.join(evalDir, 'sets.json'), 'utf8')) : ['test'];
  const sets: Record<string, Utterance[]> = {};
  for (const name of setNames) sets[name] = await logProbsOf(path.join(evalDir, name));
  // --fixed: the manifest's LM settings, no tuning (to score another model, e.g. the one bundled before, on the same sets)
  let best: Required<LmFusionOptions> & { wer: number };
  if (values.fixed) {
    best = { ...manifestFusion(), wer: NaN };
  } else {
    // every weight triple at width 8 (a second each), then the six best again at the chosen width
    const grid: (Required<LmFusionOptions> & { wer: number })[] = [];
    for (const alpha of values.quick ? [0.5] : [0.3, 0.5, 0.7, 1.0]) {
      for (const beta of values.quick ? [1] : [0, 1, 2]) {
        for (const oovPenalty of values.quick ? [8] : [0, 8, 16]) {
          const fusion = { alpha, beta, lookahead: true, oovPenalty };
          grid.push({ ...fusion, wer: score(dev, beam(fusion, Math.min(8, width))).wer });
        }
      }
    }
    grid.sort((a, b) => a.wer - b.wer);
    const finalists = grid.slice(0, 6).map((g) => ({ ...g, wer: score(dev, beam(g)).wer }));
    best = finalists.sort((a, b) => a.wer - b.wer)[0];
  }
  const { wer: devWer, ...fusion } = best;
  const devGreedy = score(dev, greedy);
  const results = {
    width,
    dev: { greedy: devGreedy, beamLm: { ...fusion, wer: devWer } },
    ...Object.fromEntries(
      Object.entries(sets).map(([name, utts]) => [name, { greedy: score(utts, greedy), beam: score(utts, beam()), beamLm: score(utts, beam(fusion)) }]),
    ),
    sample: await sampleOf(fusion),
  };
  console.log(JSON.stringify(results, null, 2));
  metrics.decoders = { ...results, command: 'node --import tsx models/asr/recipe/tune-decoder.ts (run by decoder_eval.py)' };
  const kept = values.fixed ? manifest.decoding.beam : undefined; // --fixed keeps the manifest's other settings
  const beamSettings = {
    width,
    liveWidth: kept?.liveWidth ?? Math.min(16, width),
    default: kept ? kept.default : devWer < devGreedy.wer,
    lm: { file: 'lm.arpa', ...fusion },
    hotwordBonus: kept?.hotwordBonus ?? 1.5,
  };
  writeFileSync(path.join(evalDir, 'beam.json'), JSON.stringify(beamSettings) + '\n');
}
writeFileSync(metricsFile, JSON.stringify(metrics, null, 2) + '\n');
