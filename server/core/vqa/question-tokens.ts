/**
 * The words of a VQA question, as the recipe reads them (models/vqa/recipe/questions.py `tokenize`):
 * lower case, a word is a run of [a-z0-9], anything else (spaces, "?", ",", "'") separates words.
 * A word outside the model's vocabulary is refused, naming it: the model was trained on a closed
 * set of question words and an unknown word has no id it could read (no <unk> is fed).
 */
import { invalidArgument } from '../errors.ts';

export function questionWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/** A question vocabulary: word ids are 1 + the index in the list after its first entry (0, the padding id, is "<pad>"). */
export class QuestionVocabulary {
  private readonly ids: Map<string, number>;

  constructor(
    /** The vocabulary file's entries: entry 0 is the padding token, the others are words. */
    readonly entries: readonly string[],
    readonly maxWords: number,
  ) {
    this.ids = new Map(entries.slice(1).map((w, i) => [w, i + 1]));
  }

  /** The words the model knows, in vocabulary order. */
  get words(): string[] {
    return this.entries.slice(1);
  }

  /** The word ids of a question; refuses an empty question, one longer than the model takes, and unknown words (named). */
  encode(text: string, field = 'question'): number[] {
    if (text.trim() === '') throw invalidArgument(field, 'is empty: ask a question about the picture');
    const words = questionWords(text);
    if (words.length === 0) throw invalidArgument(field, 'has no words (a word is a run of letters a-z or digits)');
    if (words.length > this.maxWords) throw invalidArgument(field, `has ${words.length} words; this model takes questions of at most ${this.maxWords}`);
    const unknown = [...new Set(words.filter((w) => !this.ids.has(w)))];
    if (unknown.length > 0)
      throw invalidArgument(
        field,
        `has ${unknown.length === 1 ? 'a word' : 'words'} this model does not know: ${unknown.map((w) => `"${w}"`).join(', ')} (it knows: ${this.words.join(', ')})`,
      );
    return words.map((w) => this.ids.get(w)!);
  }
}
