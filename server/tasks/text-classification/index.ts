/** Text classification: a whole text in, one label out (many-to-one), with attention over its words and each word's share of the logits. */
import { loadTextClassifier } from '../../core/classify/load-text-classifier.ts';
import type { ClassificationResult, TextClassifier } from '../../core/classify/text-classifier.ts';
import { requireRoles, requireSection, type TaskModule } from '../task-module.ts';

/** The texts of one request, classified together in one run of the graph. */
export interface TextClassificationRequest {
  texts: string[];
  /** Cut texts longer than the model's `text.maxTokens` instead of refusing them. */
  truncate?: boolean;
  /** The graph's scores before the softmax. */
  rawScores?: boolean;
  /** Each token's attention weight with its character offsets. */
  attention?: boolean;
  /** Each token's share of each label's logit (models with `classification.tokenLogits`). */
  contributions?: boolean;
  /** The request field of each text, for errors (default `inputs[i]`). */
  fields?: string[];
}

/** The most texts one request classifies (TEI's default max_client_batch_size is 32). */
export const MAX_TEXTS_PER_REQUEST = 64;

export const textClassification: TaskModule<'text-classification', TextClassifier, TextClassificationRequest, ClassificationResult[]> = {
  name: 'text-classification',
  description: "labels whole texts (many-to-one), with the attention weight of each word and, for models with per-token logits, each word's share of the scores (POST /predict)",
  roles: ['classifier'],
  checkManifest: (m) => [
    ...requireSection('text-classification', m, 'text'),
    ...requireSection('text-classification', m, 'classification'),
    ...requireRoles('text-classification', m, ['classifier']),
  ],
  axisBounds: ({ model, spec, manifest: { text }, add }) => {
    if (!text || spec.role !== 'classifier') return;
    for (const f of [text.features.words, text.features.shapes, text.features.charNgrams]) {
      if (!f) continue;
      add(f, 0, MAX_TEXTS_PER_REQUEST, 'the texts of one text-classification request');
      add(f, 1, text.maxTokens, `text.maxTokens of model ${model}`);
    }
    if (text.features.charNgrams && text.charNgrams) add(text.features.charNgrams, 2, text.charNgrams.max, `text.charNgrams.max of model ${model}`);
  },
  runsInExecutor: true,
  validate: (classifier, { texts, truncate, attention, contributions, fields }) =>
    classifier.validate(texts, { truncate, attention, contributions, field: fields ? (i) => fields[i] : undefined }),
  load: ({ manifest, read, runners }) => loadTextClassifier(manifest, read, runners),
  async *run(classifier, { texts, truncate, rawScores, attention, contributions, fields }) {
    yield await classifier.classify(texts, { truncate, rawScores, attention, contributions, field: fields ? (i) => fields[i] : undefined });
  },
};
