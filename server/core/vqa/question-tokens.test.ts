import { describe, expect, it } from 'vitest';
import { QuestionVocabulary, questionWords } from './question-tokens.ts';

const vocab = new QuestionVocabulary(['<pad>', 'circle', 'colour', 'is', 'the', 'what', 'how', 'many', 'are', 'there', 'squares'], 6);

describe('questionWords', () => {
  it('lower-cases and splits on anything but letters and digits, as the recipe does', () => {
    expect(questionWords('What colour is the circle?')).toEqual(['what', 'colour', 'is', 'the', 'circle']);
    expect(questionWords('  how  many\tSQUARES,are there?!')).toEqual(['how', 'many', 'squares', 'are', 'there']);
    expect(questionWords("what's 4x?")).toEqual(['what', 's', '4x']);
    expect(questionWords('?? ...')).toEqual([]);
  });
});

describe('QuestionVocabulary', () => {
  it('gives 1 + the index after the padding entry', () => {
    expect(vocab.encode('what colour is the circle?')).toEqual([5, 2, 3, 4, 1]);
    expect(vocab.words[0]).toBe('circle');
  });
  it('refuses an empty question and one without words', () => {
    expect(() => vocab.encode('   ')).toThrow(/question: is empty/);
    expect(() => vocab.encode('???', 'messages[0].content')).toThrow(/messages\[0\]\.content: has no words/);
  });
  it('refuses a question longer than the model takes', () => {
    expect(() => vocab.encode('what is the circle is the circle')).toThrow(/has 7 words; this model takes questions of at most 6/);
  });
  it('refuses unknown words, naming each once', () => {
    expect(() => vocab.encode('what colour is the zebra zebra')).toThrow(/a word this model does not know: "zebra" \(it knows: circle, colour/);
    expect(() => vocab.encode('what hue is the cat')).toThrow(/words this model does not know: "hue", "cat"/);
  });
});
