/**
 * The demo page's "about" paragraphs quote the bundled models' held-out results; this checks the
 * quoted numbers against each model's metrics.json, so a retrained model cannot leave the page
 * stating its predecessor's numbers (the pronunciation view said 9.5 % / 35 % for a model at 8.2 / 31).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';

const page = readFileSync(path.join(import.meta.dirname, '..', 'web', 'index.html'), 'utf8');
const metrics = (model: string) => JSON.parse(readFileSync(path.join(BUNDLED_MODELS_DIR, model, 'metrics.json'), 'utf8')) as any;

/** The about paragraph of the view that links this model's card. */
function about(model: string): string {
  const paragraph = [...page.matchAll(/<p class="about">([\s\S]*?)<\/p>/g)].map((m) => m[1]).find((p) => p.includes(`/v1/models/${model}/files/README.md`));
  if (!paragraph) throw new Error(`no about paragraph links ${model}'s card`);
  return paragraph;
}

/** A percentage as the page writes it: `digits` decimals, then " %". */
const pct = (fraction: number, digits = 0) => `${(fraction * 100).toFixed(digits)} %`;

describe("the demo page's about texts give the bundled models' numbers", () => {
  it('pronunciation: greedy phoneme and word error rates (the view decodes greedily by default)', () => {
    const { greedy } = metrics('g2p').test as { greedy: { per: number; wer: number } };
    expect(about('g2p')).toContain(`${greedy.per.toFixed(1)} % of phonemes and ${greedy.wer.toFixed(0)} % of held-out words`);
  });

  it('spam: held-out accuracy and the share of hard ham called spam', () => {
    const { test } = metrics('spam');
    expect(about('spam')).toContain(`${pct(test.accuracy, 1)} of held-out messages right, but ${pct(1 - test.hard_ham_accuracy)} of hard ham`);
  });

  it('chat: exact replies on held-out turns', () => {
    expect(about('chat')).toContain(`reference on ${pct(metrics('chat').heldout.exact_match)} of held-out turns`);
  });

  it('speech recognition: beam + LM WER on held-out espeak-ng voices, festival and real recordings', () => {
    const { decoders } = metrics('asr');
    const text = about('asr');
    expect(text).toContain(`${pct(decoders.test.beamLm.wer)} of words wrong on held-out espeak-ng voices, ${pct(decoders.festival.beamLm.wer)} on festival's`);
    expect(text).toContain(`poorly (${pct(decoders.real.beamLm.wer)})`);
  });
});
