import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../config.ts';
import { manifestJsonSchema } from './manifest-schema.ts';
import { parseManifest, readManifest, TASK_ROLES } from './manifest.ts';

const good = {
  name: 'slots',
  task: 'slot-filling',
  graphs: { tagger: { file: 'tagger.onnx', role: 'tagger' } },
  text: { tokenizer: 'word', vocabulary: 'vocab.json', features: { words: 'word_ids' } },
  decoding: { kind: 'crf', emissions: 'emissions', transitions: 'crf.json' },
};

describe('manifest', () => {
  it('accepts a valid manifest and fills defaults', () => {
    const m = parseManifest(good);
    expect(m.version).toBe('1');
    expect(m.graphs.tagger.states).toEqual([]);
    expect(m.text?.maxTokens).toBe(256);
  });

  it('accepts recurrent state pairs with their batch axes', () => {
    const m = parseManifest({ ...good, task: 'generic', graphs: { step: { file: 's.onnx', role: 'decoder_step', states: [{ input: 'h_in', output: 'h_out', batchAxis: 1 }] } } });
    expect(m.graphs.step.states[0]).toEqual({ input: 'h_in', output: 'h_out', batchAxis: 1 });
  });

  it('accepts a streaming speech recognizer and checks its chunk size', () => {
    const asr = {
      name: 'asr',
      task: 'speech-recognition',
      graphs: { acoustic: { file: 'a.onnx', role: 'acoustic', states: [{ input: 'state_in', output: 'state_out', batchAxis: 1 }] } },
      audio: { sampleRate: 16000, input: 'samples', chunkSamples: 5120, contextSamples: 240, frameSamples: 320 },
      decoding: { kind: 'ctc', logProbs: 'log_probs', alphabet: 'alphabet.json' },
    };
    expect(parseManifest(asr).decoding).toEqual({ kind: 'ctc', logProbs: 'log_probs', alphabet: 'alphabet.json', blank: 0 });
    expect(() => parseManifest({ ...asr, audio: { ...asr.audio, chunkSamples: 5000 } })).toThrow(/audio\.chunkSamples: must be a whole number of frames/);
    expect(() => parseManifest({ ...asr, decoding: undefined })).toThrow(/decoding: speech-recognition models need ctc decoding/);
  });

  it('names every bad field', () => {
    expect(() => parseManifest({ ...good, graphs: { tagger: { role: 'tagger' } } })).toThrow(/graphs\.tagger\.file/);
    expect(() => parseManifest({ ...good, task: 'dance' })).toThrow(/^task:/);
    expect(() => parseManifest({ ...good, graphs: { tagger: { file: '../../etc/passwd', role: 'tagger' } } })).toThrow(/inside the model folder/);
    expect(() => parseManifest({ ...good, decoding: undefined })).toThrow(/decoding: slot-filling models need crf decoding/);
    expect(() => parseManifest({ ...good, name: 'Bad Name' })).toThrow(/^name:/);
  });
});

describe('manifest: strict keys', () => {
  const step = { file: 's.onnx', role: 'step', states: [{ input: 'h_in', output: 'h_out', batchAxis: 1 }] };
  const generic = { name: 'lstm-step', task: 'generic', graphs: { step } };
  const problem = (json: unknown) => {
    try {
      parseManifest(json);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('parsed');
  };

  it('refuses an unknown key, naming its path and the closest known key', () => {
    expect(problem({ ...generic, graphs: { step: { ...step, states: [{ input: 'h_in', output: 'h_out', batch_axis: 1 }] } } })).toBe(
      'graphs.step.states[0].batch_axis: unknown key; did you mean batchAxis?',
    );
    expect(problem({ ...generic, graphs: { step: { file: 's.onnx', role: 'step', state: step.states } } })).toBe('graphs.step.state: unknown key; did you mean states?');
    expect(problem({ ...good, text: { ...good.text, max_tokens: 64 } })).toBe('text.max_tokens: unknown key; did you mean maxTokens?');
    expect(problem({ ...good, decoding: { ...good.decoding, emission: 'emissions' } })).toMatch(/^decoding\.emission: unknown key; did you mean emissions\?/);
    expect(problem({ ...generic, colour: 'red' })).toMatch(/^colour: unknown key; known keys: \$schema, name, version, task, /);
  });

  it('has no object schema that lets unknown keys through', () => {
    const objects: Record<string, unknown>[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        const o = node as Record<string, unknown>;
        if (o.type === 'object' && o.properties) objects.push(o);
        Object.values(o).forEach(walk);
      }
    };
    walk(manifestJsonSchema());
    expect(objects.length).toBeGreaterThan(15);
    for (const o of objects) expect(o.additionalProperties, Object.keys(o.properties as object).join(',')).toBe(false);
  });

  it('allows a top-level $schema for editors', () => {
    expect(parseManifest({ $schema: '../../docs/manifest.schema.json', ...generic }).name).toBe('lstm-step');
  });

  it('names the file: readManifest', () => {
    expect(() => readManifest('{"name": ', 'models/x/manifest.json')).toThrow(/^models\/x\/manifest\.json: not valid JSON: /);
    expect(() => readManifest(JSON.stringify({ ...generic, graphs: { step: { ...step, state: [] } } }), 'models/x/manifest.json')).toThrow(
      /^models\/x\/manifest\.json: graphs\.step\.state: unknown key; did you mean states\?/,
    );
  });

  it('says versions are strings and names are lower case', () => {
    expect(problem({ ...generic, version: 2 })).toBe('version: versions are strings: write "1", not 1');
    expect(problem({ ...generic, name: 'LstmStep' })).toMatch(/^name: model names are lower case/);
    expect(problem({ ...generic, graphs: { Step: step } })).toMatch(/^graphs\.Step: graph names are lower-case/);
  });

  it('refuses zero dimensions in warmupShapes', () => {
    expect(problem({ ...generic, graphs: { step: { ...step, warmupShapes: { x: [1, 0, 40] } } } })).toMatch(/^graphs\.step\.warmupShapes\.x\[1\]: dimensions are at least 1/);
  });
});

describe('manifest: roles per task', () => {
  it('accepts the roles of each task and refuses others, naming the field and the allowed roles', () => {
    expect(TASK_ROLES.chat).toEqual(['encoder', 'decoder_step']);
    expect(() => parseManifest({ ...good, graphs: { tagger: { file: 'tagger.onnx', role: 'tager' } } })).toThrow(
      'graphs.tagger.role: "tager" is not a role of a slot-filling model; did you mean tagger? (roles: tagger)',
    );
    const generic = (role: string) => ({ name: 'cls', task: 'generic', graphs: { cls: { file: 'c.onnx', role } } });
    expect(parseManifest(generic('classifier')).graphs.cls.role).toBe('classifier');
    expect(() => parseManifest(generic('clasifier'))).toThrow(
      /^graphs\.cls\.role: "clasifier" is not a role of a generic model; did you mean classifier\? \(roles: model, classifier, /,
    );
    expect(() => parseManifest(generic('sentiment'))).toThrow(/^graphs\.cls\.role: "sentiment" is not a role of a generic model \(roles: /);
  });

  it('every bundled manifest uses its task roles and points to the JSON Schema', () => {
    for (const dir of readdirSync(BUNDLED_MODELS_DIR)) {
      const file = path.join(BUNDLED_MODELS_DIR, dir, 'manifest.json');
      if (!existsSync(file)) continue;
      const m = readManifest(readFileSync(file, 'utf8'), file);
      expect(m.$schema, file).toBe('../../docs/manifest.schema.json');
      for (const g of Object.values(m.graphs)) expect(TASK_ROLES[m.task]).toContain(g.role);
    }
  });
});
