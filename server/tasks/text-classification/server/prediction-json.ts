/**
 * One text's answer as `POST /predict` gives it (and KServe's `json_output`): `[{label, score}]` best
 * first, or with the attention or contributions extensions `{predictions, attention?, contributions?, truncated}`.
 */
import { byLabel, type ClassificationResult } from '../../../core/classify/text-classifier.ts';

export function predictionJson(result: ClassificationResult, labels: readonly string[], withAttention: boolean, withContributions: boolean) {
  const predictions = result.scores.map(({ label, score }) => ({ label, score }));
  if (!withAttention && !withContributions) return predictions;
  const contributions = result.contributions && {
    tokens: result.contributions.tokens.map(({ text, start, end, logits }) => ({ text, start, end, logits: byLabel(labels, logits) })),
    rest: byLabel(labels, result.contributions.rest),
  };
  return {
    predictions,
    ...(withAttention ? { attention: (result.attention ?? []).map(({ text, start, end, weight }) => ({ text, start, end, weight })) } : {}),
    ...(contributions ? { contributions } : {}),
    truncated: result.truncated,
  };
}
