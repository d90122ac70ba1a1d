import { z } from 'zod';
import { SeqserveError } from '../errors.ts';
import type { GraphRunner } from '../graph-runner.ts';
import type { Manifest } from '../manifest.ts';
import { readJsonFile, type ReadModelFile } from '../model-files.ts';
import { Vocabulary } from '../text/word-features.ts';
import { TextClassifier } from './text-classifier.ts';

/** Builds a text classifier from its manifest, files and graph runners; mistakes name the manifest field. */
export async function loadTextClassifier(manifest: Manifest, read: ReadModelFile, runners: Record<string, GraphRunner>): Promise<TextClassifier> {
  const { text, classification } = manifest;
  if (!text || !classification) throw new SeqserveError('failed_precondition', 'manifest.json: text classification needs the text and classification sections');
  const [graphName] = Object.entries(manifest.graphs).find(([, g]) => g.role === 'classifier') ?? [];
  const runner = graphName === undefined ? undefined : runners[graphName];
  if (!runner) throw new SeqserveError('failed_precondition', 'manifest.json: graphs: no graph with role "classifier"');
  const parsed = z
    .array(z.string())
    .min(2)
    .safeParse(await readJsonFile(read, text.vocabulary));
  if (!parsed.success) throw new SeqserveError('failed_precondition', `${text.vocabulary}: must be a JSON array of at least two words`);
  for (const input of [text.features.words, text.features.charNgrams, text.features.shapes]) {
    if (input !== undefined && !runner.inputNames.includes(input))
      throw new SeqserveError('failed_precondition', `manifest.json: text.features: graph "${graphName}" has no input "${input}" (it has ${runner.inputNames.join(', ')})`);
  }
  for (const [key, output] of [
    ['logits', classification.logits],
    ['attention', classification.attention],
    ['tokenLogits', classification.tokenLogits],
  ] as const) {
    if (output !== undefined && !runner.outputNames.includes(output))
      throw new SeqserveError(
        'failed_precondition',
        `manifest.json: classification.${key}: graph "${graphName}" has no output "${output}" (it has ${runner.outputNames.join(', ')})`,
      );
  }
  return new TextClassifier(runner, text, new Vocabulary(parsed.data), classification);
}
