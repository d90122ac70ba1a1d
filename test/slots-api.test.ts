import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOTS_DIR } from './helpers/slot-features.ts';
import { startBundledServer } from './helpers/test-server.ts';

let server: Awaited<ReturnType<typeof startBundledServer>>;

beforeAll(async () => {
  server = await startBundledServer(['slots']);
});
afterAll(async () => {
  await server.close();
});

interface Slot {
  name: string;
  value: string;
  start: number;
  end: number;
  confidence: number;
}

async function slots(body: unknown): Promise<{ status: number; json: { tokens: string[]; tags: string[]; slots: Slot[]; error?: string } }> {
  const res = await fetch(`${server.http}/v1/slots`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** Spans of BIO tags, conlleval style, as "name@start-end" strings. */
function spans(tags: string[]): Set<string> {
  const out = new Set<string>();
  let cur: [string, number] | undefined;
  [...tags, 'O'].forEach((t, i) => {
    if (t.startsWith('I-') && cur && cur[0] === t.slice(2)) return;
    if (cur) out.add(`${cur[0]}@${cur[1]}-${i}`);
    cur = t === 'O' ? undefined : [t.slice(2), i];
  });
  return out;
}

describe('POST /v1/slots', () => {
  it("fills the lecture's slots with character offsets", async () => {
    const text = 'I would like to arrive Taipei on November 2nd';
    const { status, json } = await slots({ text });
    expect(status).toBe(200);
    expect(json.slots.map((s) => [s.name, s.value])).toEqual([
      ['toloc.city_name', 'Taipei'],
      ['arrive_date', 'November 2nd'],
    ]);
    for (const s of json.slots) {
      expect(text.slice(s.start, s.end)).toBe(s.value);
      expect(s.confidence).toBeGreaterThan(0.5);
      expect(s.confidence).toBeLessThanOrEqual(1);
    }
    const leave = await slots({ text: 'leave Taipei on November 2nd', model: 'slots' });
    expect(leave.json.slots.map((s) => [s.name, s.value])).toEqual([
      ['fromloc.city_name', 'Taipei'],
      ['depart_date', 'November 2nd'],
    ]);
  });

  it('handles unseen words (cities not in the vocabulary)', async () => {
    const { json } = await slots({ text: 'show me flights from Kaohsiung to Ouagadougou tomorrow morning' });
    const byName = Object.fromEntries(json.slots.map((s) => [s.name, s.value]));
    expect(byName['fromloc.city_name']).toBe('Kaohsiung');
    expect(byName['toloc.city_name']).toBe('Ouagadougou');
  });

  it('rejects bad input with 400/404 naming the field', async () => {
    const cases: [unknown, number, RegExp][] = [
      ['{"text": ', 400, /^body: malformed JSON/],
      [{}, 400, /^text: /],
      [{ text: 42 }, 400, /^text: /],
      [{ text: '   ' }, 400, /^text: must not be empty/],
      [{ text: 'x'.repeat(20_000) }, 400, /^text: must be at most 10000 characters/],
      [{ text: 'a '.repeat(300) }, 400, /^text: has 300 tokens; this model accepts at most 128/],
      [{ text: 'hi', model: 'nope' }, 404, /unknown model "nope"/],
    ];
    for (const [body, status, error] of cases) {
      const res = await slots(body);
      expect({ body, status: res.status, error: res.json.error }).toMatchObject({ status, error: expect.stringMatching(error) });
    }
  });

  it('meets the model card on the committed held-out sample', async () => {
    const metrics = JSON.parse(readFileSync(path.join(SLOTS_DIR, 'metrics.json'), 'utf8'));
    const card = readFileSync(path.join(SLOTS_DIR, 'README.md'), 'utf8');
    const sample = readFileSync(path.join(SLOTS_DIR, 'heldout-sample.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { text: string; tokens: string[]; tags: string[] });
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let exact = 0;
    for (const ex of sample) {
      const { json } = await slots({ text: ex.text });
      expect(json.tokens).toEqual(ex.tokens);
      const p = spans(json.tags);
      const g = spans(ex.tags);
      const hit = [...p].filter((s) => g.has(s)).length;
      tp += hit;
      fp += p.size - hit;
      fn += g.size - hit;
      if (hit === p.size && hit === g.size) exact++;
    }
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    const f1 = (2 * precision * recall) / (precision + recall);
    expect(f1).toBeCloseTo(metrics.heldout_sample.slot_f1, 3);
    expect(exact / sample.length).toBeCloseTo(metrics.heldout_sample.sentence_accuracy, 3);
    expect(f1).toBeGreaterThanOrEqual(0.95);
    expect(card).toContain(`${(metrics.heldout.slot_f1 * 100).toFixed(1)} %`);
    expect(card).toContain(`${(metrics.heldout_sample.slot_f1 * 100).toFixed(1)} %`);
  });
});
