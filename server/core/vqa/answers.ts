/** A VQA graph's answer scores → the answer and the k most probable answers with their probabilities. */
import { softmax } from '../classify/text-classifier.ts';

export interface AnswerProbability {
  answer: string;
  probability: number;
}

/**
 * The answers by probability, best first, the k most probable (ties keep vocabulary order). `scores`
 * are logits or log-probabilities of one row (the softmax gives the same probabilities from either).
 */
export function topAnswers(scores: ArrayLike<number>, answers: readonly string[], k: number): AnswerProbability[] {
  if (scores.length !== answers.length) throw new Error(`the answer output has ${scores.length} scores; the model has ${answers.length} answers`);
  const p = softmax(scores);
  return p
    .map((probability, i) => ({ answer: answers[i], probability, i }))
    .sort((a, b) => b.probability - a.probability || a.i - b.i)
    .slice(0, Math.max(1, k))
    .map(({ answer, probability }) => ({ answer, probability }));
}
