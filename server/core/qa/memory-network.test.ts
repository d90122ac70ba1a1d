import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../manifest.ts';
import type { GraphRunner } from '../graph-runner.ts';
import { loadMemoryNetwork } from './memory-network.ts';

const DIR = path.join(import.meta.dirname, '..', '..', '..', 'models', 'speech_qa');
const bundled = JSON.parse(readFileSync(path.join(DIR, 'manifest.json'), 'utf8'));
const read = async (file: string) => new Uint8Array(readFileSync(path.join(DIR, file)));
const runner = (inputNames: string[], outputNames: string[]): GraphRunner => ({ inputNames, outputNames, run: async () => ({}) });
const runners = { memory: runner(['story', 'question'], ['answer', 'hops']), segmenter: runner(['chars'], ['boundary']) };

describe('loadMemoryNetwork: the sentence-boundary graph', () => {
  it('loads the bundled segmenter, and none when the manifest has neither the graph nor memory.segmenter', async () => {
    expect((await loadMemoryNetwork(parseManifest(bundled), read, runners)).segmenter?.spec.chars).toBe('chars');
    const { segmenter: _graph, ...graphs } = bundled.graphs;
    const { segmenter: _section, ...memory } = bundled.memory;
    expect((await loadMemoryNetwork(parseManifest({ ...bundled, graphs, memory }), read, { memory: runners.memory })).segmenter).toBeUndefined();
  });

  it('refuses a boundary graph without memory.segmenter, a section without the graph, and wrong tensor names', async () => {
    const { segmenter: _section, ...memory } = bundled.memory;
    await expect(loadMemoryNetwork(parseManifest({ ...bundled, memory }), read, runners)).rejects.toThrow(/role "sentence_boundaries" but memory.segmenter is missing/);
    const { segmenter: _graph, ...graphs } = bundled.graphs;
    await expect(loadMemoryNetwork(parseManifest({ ...bundled, graphs }), read, { memory: runners.memory })).rejects.toThrow(/no graph with role "sentence_boundaries"/);
    await expect(loadMemoryNetwork(parseManifest(bundled), read, { ...runners, segmenter: runner(['text'], ['boundary']) })).rejects.toThrow(/has no input "chars"/);
    await expect(loadMemoryNetwork(parseManifest(bundled), read, { ...runners, segmenter: runner(['chars'], ['logits']) })).rejects.toThrow(/has no output "boundary"/);
  });
});
