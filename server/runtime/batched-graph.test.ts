import { describe, expect, it } from 'vitest';
import { parseManifest, type GraphSpec } from '../core/manifest.ts';
import { parseServeArgs, SERVE_USAGE } from '../main.ts';
import { batchingDecision, DEFAULT_DYNAMIC_BATCHING, type BatchableGraph } from './batched-graph.ts';
import type { TensorInfo } from './loaded-graph.ts';

const t = (name: string, type: string, dims: (number | string)[]): TensorInfo => ({
  name,
  type: type as TensorInfo['type'],
  shape: dims.map((d) => (typeof d === 'number' ? d : -1)),
  dimNames: dims.map((d) => (typeof d === 'string' ? d : undefined)),
});

/** The bundled slot tagger's signature. */
const TAGGER_INPUTS = [t('word_ids', 'int64', ['batch', 'tokens']), t('ngram_ids', 'int64', ['batch', 'tokens', 24]), t('shape_ids', 'int64', ['batch', 'tokens'])];
const TAGGER_OUTPUTS = [t('emissions', 'float32', ['batch', 'tokens', 21])];

function graph(spec: Partial<GraphSpec> = {}, inputs = TAGGER_INPUTS, outputs = TAGGER_OUTPUTS, batchBound = 128): BatchableGraph {
  return {
    name: 'tagger',
    qualifiedName: 'm.tagger',
    inputs,
    outputs,
    spec: { file: 'tagger.onnx', role: 'tagger', states: [], ...spec },
    signature: { name: 'm.tagger', inputs, maximums: inputs.map((i) => ({ input: i.name, axis: 0, length: batchBound, why: '--max-axis-length' })) },
  };
}

const generic = { task: 'generic' as const };

describe('batchingDecision', () => {
  it('batches a stateless graph with a symbolic batch axis by default: same shapes only, no padding, the server delay', () => {
    const { decision, problems } = batchingDecision(graph(), { task: 'slot-filling' }, { ...DEFAULT_DYNAMIC_BATCHING, maxQueueDelayMicroseconds: 250 });
    expect(problems).toEqual([]);
    expect(decision).toEqual({ on: true, options: { name: 'm.tagger', maxBatchSize: 64, maxQueueDelayMs: 0.25, preferredBatchSizes: undefined, pad: undefined } });
  });

  it('keeps the largest batch within the graph bound on axis 0', () => {
    const { decision } = batchingDecision(graph({}, TAGGER_INPUTS, TAGGER_OUTPUTS, 16), generic, DEFAULT_DYNAMIC_BATCHING);
    expect(decision.on && decision.options.maxBatchSize).toBe(16);
    const { problems } = batchingDecision(graph({ dynamicBatching: { enabled: true, maxBatchSize: 32 } }, TAGGER_INPUTS, TAGGER_OUTPUTS, 16), generic, DEFAULT_DYNAMIC_BATCHING);
    expect(problems).toEqual(["graphs.tagger.dynamicBatching.maxBatchSize: 32 is above the graph's bound on axis 0, 16"]);
  });

  it('does not batch graphs with states, generation graphs, fixed batch axes, or when turned off', () => {
    const off = (g: BatchableGraph, model: Parameters<typeof batchingDecision>[1] = generic, defaults = DEFAULT_DYNAMIC_BATCHING) => {
      const { decision, problems } = batchingDecision(g, model, defaults);
      expect(problems).toEqual([]);
      return decision.on ? 'on' : decision.why;
    };
    expect(off(graph({ states: [{ input: 'word_ids', output: 'emissions', batchAxis: 0 }] }))).toBe('it has recurrent states');
    expect(off(graph(), { task: 'chat', generation: {} as never })).toBe("a chat model's graphs are batched by its generation engine");
    expect(off(graph({}, [t('x', 'float32', [1, 'n'])], [t('y', 'float32', ['b', 'n'])]))).toMatch(/input "x" \(\[1, -1\]\) has no symbolic batch axis 0/);
    expect(off(graph({}, [t('x', 'float32', ['b', 'n'])], [t('y', 'float32', [3])]))).toMatch(/output "y"/);
    expect(off(graph({}, [t('x', 'float32', ['b', 'n']), t('z', 'float32', ['c'])]))).toMatch(/different symbols \(b, c\)/);
    expect(off(graph({ dynamicBatching: { enabled: false } }))).toBe('graphs.tagger.dynamicBatching.enabled is false');
    expect(off(graph(), generic, { ...DEFAULT_DYNAMIC_BATCHING, enabled: false })).toBe('--dynamic-batching off');
  });

  it('refuses a manifest section that cannot apply, naming the field', () => {
    const problems = (spec: Partial<GraphSpec>, inputs = TAGGER_INPUTS, outputs = TAGGER_OUTPUTS) =>
      batchingDecision(graph(spec, inputs, outputs), generic, DEFAULT_DYNAMIC_BATCHING).problems;
    expect(problems({ states: [{ input: 'word_ids', output: 'emissions', batchAxis: 0 }], dynamicBatching: { enabled: true } })).toEqual([
      'graphs.tagger.dynamicBatching: a graph with states is batched by its task (stream steps), not per request; remove the section',
    ]);
    expect(problems({ dynamicBatching: { enabled: true } }, [t('x', 'float32', [1, 'n'])])[0]).toMatch(/^graphs\.tagger\.dynamicBatching: cannot batch graph "tagger": input "x"/);
    expect(problems({ dynamicBatching: { enabled: true, maxBatchSize: 8, preferredBatchSizes: [4, 16] } })).toEqual([
      'graphs.tagger.dynamicBatching.preferredBatchSizes[1]: 16 is above maxBatchSize 8',
    ]);
    expect(problems({ dynamicBatching: { enabled: true, pad: { values: { words: 0, ngram_ids: 0.5 }, lengths: 'word_ids' } } })).toEqual([
      'graphs.tagger.dynamicBatching.pad.values: graph "tagger" has no input "words" (inputs: word_ids, ngram_ids, shape_ids)',
      'graphs.tagger.dynamicBatching.pad.values.ngram_ids: input "ngram_ids" is int64; 0.5 is not an integer',
      'graphs.tagger.dynamicBatching.pad.lengths: input "word_ids" is int64 [-1, -1]; lengths are one integer per row ([batch])',
    ]);
    expect(problems({ dynamicBatching: { enabled: true, pad: { values: { x: 0 } } } }, [t('x', 'float32', ['b', 'n'])], [t('y', 'float32', ['b', 'frames'])])).toEqual([
      'graphs.tagger.dynamicBatching.pad: output "y" axis 1 is variable ("frames") and no padded input axis has that symbol, so it could not be cut back to each request\'s length; pad only graphs whose variable output axes share the padded inputs\' symbols',
    ]);
  });

  it('plans padding: the padded inputs, and the output axes cut back by their symbol', () => {
    const inputs = [t('ids', 'int64', ['batch', 'tokens']), t('lengths', 'int64', ['batch'])];
    const outputs = [t('tags', 'float32', ['batch', 'tokens', 5]), t('label', 'float32', ['batch', 3])];
    const spec = {
      dynamicBatching: { enabled: true, maxQueueDelayMicroseconds: 1000, preferredBatchSizes: [4, 8], maxBatchSize: 8, pad: { values: { ids: 0 }, lengths: 'lengths' } },
    };
    const { decision, problems } = batchingDecision(graph(spec, inputs, outputs), generic, DEFAULT_DYNAMIC_BATCHING);
    expect(problems).toEqual([]);
    expect(decision).toEqual({
      on: true,
      options: {
        name: 'm.tagger',
        maxBatchSize: 8,
        maxQueueDelayMs: 1,
        preferredBatchSizes: [4, 8],
        pad: { values: { ids: 0 }, trim: [{ output: 'tags', axis: 1, input: 'ids', inputAxis: 1 }] },
      },
    });
  });
});

describe('graphs.<g>.dynamicBatching in the manifest', () => {
  const manifest = (dynamicBatching: unknown) => ({ name: 'm', task: 'generic', graphs: { model: { file: 'm.onnx', role: 'model', dynamicBatching } } });

  it('parses the section with its defaults', () => {
    expect(parseManifest(manifest({ maxQueueDelayMicroseconds: 500, preferredBatchSizes: [8] })).graphs.model.dynamicBatching).toEqual({
      enabled: true,
      maxQueueDelayMicroseconds: 500,
      preferredBatchSizes: [8],
    });
  });

  it('names mistakes: unknown keys with the closest one, bad sizes', () => {
    expect(() => parseManifest(manifest({ maxQueueDelayMicroSeconds: 500 }))).toThrow(
      /graphs\.model\.dynamicBatching\.maxQueueDelayMicroSeconds: unknown key; did you mean maxQueueDelayMicroseconds\?/,
    );
    expect(() => parseManifest(manifest({ preferredBatchSizes: [4, 4] }))).toThrow(/graphs\.model\.dynamicBatching\.preferredBatchSizes: sizes must be distinct/);
    expect(() => parseManifest(manifest({ maxBatchSize: 0 }))).toThrow(/graphs\.model\.dynamicBatching\.maxBatchSize/);
    expect(() => parseManifest(manifest({ pad: { value: { x: 0 } } }))).toThrow(/graphs\.model\.dynamicBatching\.pad\.value: unknown key; did you mean values\?/);
  });
});

describe('seqserve serve --dynamic-batching / --batch-delay', () => {
  it('parses the flags into the server defaults', () => {
    expect(parseServeArgs([]).dynamicBatching).toEqual(DEFAULT_DYNAMIC_BATCHING);
    expect(parseServeArgs(['--dynamic-batching', 'off', '--batch-delay', '500']).dynamicBatching).toEqual({
      ...DEFAULT_DYNAMIC_BATCHING,
      enabled: false,
      maxQueueDelayMicroseconds: 500,
    });
    expect(() => parseServeArgs(['--batch-delay', '0.5'])).toThrow('--batch-delay: "0.5" is not a whole number of microseconds');
    expect(() => parseServeArgs(['--dynamic-batching', 'maybe'])).toThrow('--dynamic-batching: "maybe" is not on or off');
    expect(SERVE_USAGE).toMatch(/--batch-delay N .*\(default 0/s);
  });
});
