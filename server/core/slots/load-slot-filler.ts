import { z } from 'zod';
import { SeqserveError } from '../errors.ts';
import type { GraphRunner } from '../graph-runner.ts';
import type { Manifest } from '../manifest.ts';
import { readJsonFile, type ReadModelFile } from '../model-files.ts';
import { Vocabulary } from '../text/word-features.ts';
import { SlotFiller } from './slot-filler.ts';

const CrfFile = z
  .object({
    labels: z.array(z.string()).min(1),
    transitions: z.array(z.array(z.number())),
    start: z.array(z.number()),
    end: z.array(z.number()),
  })
  .refine(
    (c) =>
      c.transitions.length === c.labels.length &&
      c.transitions.every((r) => r.length === c.labels.length) &&
      c.start.length === c.labels.length &&
      c.end.length === c.labels.length,
    'transitions must be labels×labels and start/end must have one score per label',
  );

function parseFile<T>(schema: z.ZodType<T>, file: string, json: unknown): T {
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  throw new SeqserveError('failed_precondition', `${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}

/** Builds the slot-filling pipeline of a model from its manifest, files and graph runners. */
export async function loadSlotFiller(manifest: Manifest, read: ReadModelFile, runners: Record<string, GraphRunner>): Promise<SlotFiller> {
  const text = manifest.text;
  const decoding = manifest.decoding;
  if (!text || decoding?.kind !== 'crf') throw new SeqserveError('failed_precondition', 'manifest.json: slot filling needs text and crf decoding');
  const [graphName] = Object.entries(manifest.graphs).find(([, g]) => g.role === 'tagger') ?? [];
  const tagger = graphName === undefined ? undefined : runners[graphName];
  if (!tagger) throw new SeqserveError('failed_precondition', 'manifest.json: graphs: no graph with role "tagger"');
  const words = parseFile(z.array(z.string()).min(2), text.vocabulary, await readJsonFile(read, text.vocabulary));
  const crf = parseFile(CrfFile, decoding.transitions, await readJsonFile(read, decoding.transitions));
  for (const input of [text.features.words, text.features.charNgrams, text.features.shapes]) {
    if (input !== undefined && !tagger.inputNames.includes(input))
      throw new SeqserveError('failed_precondition', `manifest.json: text.features: graph "${graphName}" has no input "${input}" (it has ${tagger.inputNames.join(', ')})`);
  }
  if (!tagger.outputNames.includes(decoding.emissions))
    throw new SeqserveError('failed_precondition', `manifest.json: decoding.emissions: graph "${graphName}" has no output "${decoding.emissions}"`);
  return new SlotFiller(tagger, text, new Vocabulary(words), crf, decoding.emissions);
}
