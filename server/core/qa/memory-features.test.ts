import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../manifest.ts';
import { memoryInputs, memoryWords } from './memory-features.ts';

const MODEL_DIR = path.join(import.meta.dirname, '..', '..', '..', 'models', 'speech_qa');
const spec = parseManifest(JSON.parse(readFileSync(path.join(MODEL_DIR, 'manifest.json'), 'utf8'))).memory!;
const fixtures = readFileSync(path.join(MODEL_DIR, 'feature-fixtures.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { text: string; ids: number[][] });

describe('memory-network features', () => {
  it('match the recipe (models/speech_qa/feature-fixtures.jsonl)', () => {
    for (const f of fixtures) {
      const { question } = memoryInputs(['x'], f.text, spec);
      expect(Array.from(question, Number)).toEqual(f.ids.flat());
    }
  });

  it('put the most recent sentence first and pad the rest with zeros', () => {
    const { story } = memoryInputs(['mary went to the kitchen', 'john went to the garden'], 'where is mary', spec);
    const size = spec.maxWords * (1 + spec.wordIds.maxNgrams);
    const { question: john } = memoryInputs(['x'], 'john went to the garden', spec);
    const { question: mary } = memoryInputs(['x'], 'mary went to the kitchen', spec);
    expect(Array.from(story.subarray(0, size))).toEqual(Array.from(john));
    expect(Array.from(story.subarray(size, 2 * size))).toEqual(Array.from(mary));
    expect(story.subarray(2 * size).every((v) => v === 0n)).toBe(true);
  });

  it('refuses stories longer than the memory and questions without words', () => {
    expect(() => memoryInputs(Array(spec.maxSentences + 1).fill('a b'), 'where', spec)).toThrow(/story: has 17 sentences/);
    expect(() => memoryInputs([], 'where', spec)).toThrow(/story: has no sentences/);
    expect(() => memoryInputs(['a'], ' ?! ', spec)).toThrow(/question: has no words/);
    // a story whose sentences hold no words (a recognizer that wrote only symbols) would be all padding
    expect(() => memoryInputs(['...', ' ', '😀'], 'where is mary', spec)).toThrow(/story: has no words the model reads/);
    expect(() => memoryInputs(['...', 'mary went to the kitchen'], 'where is mary', spec)).not.toThrow();
    expect(memoryWords("Mary's ball, 2 TIMES!")).toEqual(["mary's", 'ball', '2', 'times']);
  });
});
