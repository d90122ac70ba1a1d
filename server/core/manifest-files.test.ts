import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { fileName } from './manifest-file-name.ts';
import { Manifest, manifestFiles, type ManifestBody } from './manifest.ts';

/** The paths of the manifest schema's fields of type fileName (graphs.*.file, ...). */
function fileFieldPaths(schema: z.ZodType): string[] {
  const check = fileName._zod.def.checks?.[0];
  const paths: string[] = [];
  const seen = new Set<unknown>();
  const walk = (s: z.ZodType | undefined, at: string) => {
    const def = s?._zod.def as any;
    if (!def) return;
    if (def.type === 'string' && check && def.checks?.includes(check)) return void paths.push(at);
    if (seen.has(s)) return;
    seen.add(s);
    const key = (k: string) => (at ? `${at}.${k}` : k);
    if (def.type === 'object') for (const [k, v] of Object.entries(def.shape)) walk(v as z.ZodType, key(k));
    else if (['optional', 'default', 'nullable', 'prefault', 'readonly', 'nonoptional'].includes(def.type)) walk(def.innerType, at);
    else if (def.type === 'pipe') [def.in, def.out].forEach((t) => walk(t, at));
    else if (def.type === 'record') walk(def.valueType, key('*'));
    else if (def.type === 'array') walk(def.element, `${at}[]`);
    else if (def.type === 'union') for (const o of def.options) walk(o, at);
    else if (def.type === 'tuple') def.items.forEach((t: z.ZodType, i: number) => walk(t, `${at}[${i}]`));
  };
  walk(schema, '');
  return paths.sort();
}

describe('manifestFiles', () => {
  it('lists every field of file type in the manifest schema (a new one must be added to it)', () => {
    expect(fileFieldPaths(Manifest)).toEqual(
      [
        'graphs.*.file',
        'text.vocabulary',
        'decoding.alphabet',
        'decoding.beam.lm.file',
        'decoding.transitions',
        'generation.vocab',
        'generation.sourceVocab',
        'memory.answers',
        'textLine.ctc.characters',
        'vqa.vocab',
        'vqa.answers',
      ].sort(),
    );
    const ctc = {
      graphs: { a: { file: 'a.onnx' }, b: { file: 'npm:pkg/b.onnx' } },
      text: { vocabulary: 'vocab.json' },
      decoding: { kind: 'ctc', alphabet: 'alphabet.json', beam: { lm: { file: 'lm.arpa' } } },
      generation: { vocab: 'gen.json', sourceVocab: 'source.json' },
      memory: { answers: 'answers.json' },
      textLine: { ctc: { characters: 'npm:pkg/keys.txt' } },
      vqa: { vocab: 'qv.json', answers: 'qa.json' },
      description: 'npm:pkg/prose.txt',
      knows: { files: ['npm:pkg/known.txt'] },
    } as unknown as ManifestBody;
    expect(manifestFiles(ctc).sort()).toEqual(
      ['a.onnx', 'npm:pkg/b.onnx', 'vocab.json', 'alphabet.json', 'lm.arpa', 'gen.json', 'source.json', 'answers.json', 'npm:pkg/keys.txt', 'qv.json', 'qa.json'].sort(),
    );
    const crf = { graphs: {}, decoding: { kind: 'crf', transitions: 'crf.json' } } as unknown as ManifestBody;
    expect(manifestFiles(crf)).toEqual(['crf.json']);
  });
});
