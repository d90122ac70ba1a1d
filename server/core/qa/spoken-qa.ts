/**
 * Spoken question answering (the lecture's TOEFL-style pipeline): the speech recognizer transcribes
 * the story (a sentence ends at a pause, or where the model's sentence-boundary tagger cuts an
 * utterance) and a spoken question, the memory network answers, and
 * the choice most similar to the answer is picked. Events come in order: story partials and
 * sentences as recognition proceeds, the question's text, the answer token, then the result.
 */
import { invalidArgument, SeqserveError } from '../errors.ts';
import { DEFAULT_ENDPOINT_RULES } from '../speech/ctc-stream-decoder.ts';
import type { AcousticModel } from '../speech/recognizer-stream.ts';
import { scoreChoices, validateChoices } from './choice-scores.ts';
import { memoryWords } from './memory-features.ts';
import type { MemoryNetwork } from './memory-network.ts';
import type { DecodedAudio } from '../audio/decode-wav.ts';
import { transcribeAudio } from '../speech/transcribe-audio.ts';

export interface SpeechQaResult {
  /** The story as recognised: a pause ends a sentence, and the model's segmenter (if any) cuts within an utterance. */
  transcript: string;
  sentences: string[];
  question_text: string;
  answer: string;
  choices: string[];
  choice_index: number;
  choice_scores: number[];
  /** Per hop of the memory network, attention over `sentences`. */
  hops: number[][];
}

export type SpeechQaEvent =
  | { type: 'story.partial'; sentence: number; text: string }
  | { type: 'story.sentence'; sentence: number; text: string }
  | { type: 'question'; text: string; spoken: boolean }
  | { type: 'answer.token'; token: string; logprob: number }
  | { type: 'result'; result: SpeechQaResult };

export interface SpeechQaInput {
  memory: MemoryNetwork;
  recognizer: AcousticModel;
  story: DecodedAudio;
  question: { text: string } | { audio: DecodedAudio };
  choices: string[];
  signal?: AbortSignal;
}

const SMALL_WORDS = new Set(['the', 'a', 'an', 'to', 'in', 'is', 'of', 'and', 'at', 'on', 'it']);

/** Distinct content words of some texts, as hotword phrases for the recognizer (at most 200). */
export function biasWords(texts: readonly string[]): string[] {
  const words = new Set<string>();
  for (const t of texts) for (const w of memoryWords(t)) if (w.length > 2 && !SMALL_WORDS.has(w)) words.add(w);
  return [...words].slice(0, 200);
}

/** A written question must hold words the memory network reads; checked before any story is recognised. */
export function checkQuestionText(text: string): void {
  if (!text.trim()) throw invalidArgument('question', 'is empty');
  if (memoryWords(text).length === 0) throw invalidArgument('question', 'has no words the model reads (letters a-z or digits)');
}

export async function* answerSpokenQuestion(input: SpeechQaInput): AsyncGenerator<SpeechQaEvent> {
  const { memory, recognizer, story, choices, signal } = input;
  validateChoices(choices);
  if ('text' in input.question) checkQuestionText(input.question.text);
  const rules = { ...DEFAULT_ENDPOINT_RULES, silenceAfterSpeech: memory.spec.sentencePauseSeconds };
  // contextual biasing: the words of the choices (and of a written question) are likely in the story
  const bias = { hotwords: biasWords([...choices, ...('text' in input.question ? [input.question.text] : [])]).map((phrase) => ({ phrase })) };
  const sentences: string[] = [];
  for await (const e of transcribeAudio(recognizer, story.samples, story.sampleRate, signal, bias, rules)) {
    if (!e.transcript.text) continue;
    if (e.type === 'partial') {
      yield { type: 'story.partial', sentence: sentences.length, text: e.transcript.text };
      continue;
    }
    // a pause ends a sentence; within an utterance (a story read fluently) the segmenter cuts
    for (const text of memory.segmenter ? await memory.segmenter.split(e.transcript.text) : [e.transcript.text]) {
      sentences.push(text);
      if (sentences.length > memory.spec.maxSentences)
        throw new SeqserveError('invalid_argument', `story: has over ${memory.spec.maxSentences} sentences; the model reads at most ${memory.spec.maxSentences}`, {
          field: 'story',
        });
      yield { type: 'story.sentence', sentence: sentences.length - 1, text };
    }
  }
  if (sentences.length === 0) throw new SeqserveError('invalid_argument', 'story: no speech was recognised in the audio', { field: 'story' });
  let questionText: string;
  if ('text' in input.question) {
    questionText = input.question.text;
  } else {
    const heard: string[] = [];
    for await (const e of transcribeAudio(recognizer, input.question.audio.samples, input.question.audio.sampleRate, signal, {
      hotwords: biasWords([...choices, ...sentences]).map((phrase) => ({ phrase })),
    })) {
      if (e.type === 'final' && e.transcript.text) heard.push(e.transcript.text);
    }
    questionText = heard.join(' ');
    if (!questionText) throw new SeqserveError('invalid_argument', 'question: no speech was recognised in the audio', { field: 'question' });
  }
  yield { type: 'question', text: questionText, spoken: !('text' in input.question) };
  if (signal?.aborted) throw new SeqserveError('cancelled', 'the client went away');
  const answered = await memory.answer(sentences, questionText);
  const best = memory.answers.indexOf(answered.answer);
  yield { type: 'answer.token', token: answered.answer, logprob: Math.log(answered.probs[best]) };
  const { scores, best: choiceIndex } = scoreChoices(memory.answers, answered.probs, choices);
  yield {
    type: 'result',
    result: {
      transcript: sentences.join('. ') + '.',
      sentences,
      question_text: questionText,
      answer: answered.answer,
      choices,
      choice_index: choiceIndex,
      choice_scores: scores,
      hops: answered.hops,
    },
  };
}
