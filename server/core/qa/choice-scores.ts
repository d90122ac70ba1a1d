/**
 * Picks the answer choice most similar to the memory network's answer: each choice scores the
 * probability mass of the answer words it matches (a word matches itself fully and a near spelling
 * by its share of character trigrams); scores are normalised over the choices.
 */
import { invalidArgument } from '../errors.ts';
import { memoryWords } from './memory-features.ts';

const IGNORED = new Set(['the', 'a', 'an', 'in', 'to', 'at', 'of', 'is', 'it', 'objects', 'object', 'thing', 'things']);
const SAME = new Map<string, string>([
  ['0', 'none'],
  ['zero', 'none'],
  ['nothing', 'none'],
  ['1', 'one'],
  ['2', 'two'],
  ['3', 'three'],
  ['4', 'four'],
  ['yeah', 'yes'],
  ['nope', 'no'],
]);
export const MAX_CHOICES = 4;
export const MAX_CHOICE_CHARS = 100;

function trigrams(word: string): Set<string> {
  const w = `<${word}>`;
  const out = new Set<string>();
  for (let i = 0; i + 3 <= w.length; i++) out.add(w.slice(i, i + 3));
  return out;
}

/** 1 for the same word, else the Dice coefficient of their character trigrams. */
export function wordSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const ta = trigrams(a);
  const tb = trigrams(b);
  let shared = 0;
  for (const t of ta) if (tb.has(t)) shared++;
  return (2 * shared) / (ta.size + tb.size);
}

function choiceWords(choice: string): string[] {
  const words = memoryWords(choice).map((w) => SAME.get(w) ?? w);
  const content = words.filter((w) => !IGNORED.has(w));
  return content.length ? content : words;
}

export function validateChoices(choices: readonly string[]): void {
  if (choices.length < 2) throw invalidArgument('choices', `${choices.length === 0 ? 'are missing' : 'need at least 2'} (2-${MAX_CHOICES} answer choices)`);
  if (choices.length > MAX_CHOICES) throw invalidArgument('choices', `${choices.length} is too many (at most ${MAX_CHOICES})`);
  choices.forEach((c, i) => {
    if (memoryWords(c).length === 0) throw invalidArgument(`choices[${i}]`, 'is empty');
    if (c.length > MAX_CHOICE_CHARS) throw invalidArgument(`choices[${i}]`, `is over ${MAX_CHOICE_CHARS} characters`);
  });
}

/** Scores (summing to 1) of each choice given the answer distribution, and the best choice. */
export function scoreChoices(answers: readonly string[], probs: readonly number[], choices: readonly string[]): { scores: number[]; best: number } {
  validateChoices(choices);
  const raw = choices.map((c) => {
    const words = choiceWords(c);
    return answers.reduce((sum, a, i) => sum + probs[i] * Math.max(...words.map((w) => wordSimilarity(w, a))), 0);
  });
  const total = raw.reduce((a, b) => a + b, 0);
  const scores = total > 0 ? raw.map((r) => r / total) : raw.map(() => 1 / raw.length);
  return { scores, best: scores.indexOf(Math.max(...scores)) };
}
