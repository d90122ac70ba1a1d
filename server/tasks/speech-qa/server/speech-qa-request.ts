/**
 * Resolving a spoken-QA request into the pipeline's input: the speech-qa model, its recognizer, the
 * decoded story (and question) audio within the audio limit, and the choices. Shared by HTTP and gRPC.
 */
import { invalidArgument } from '../../../core/errors.ts';
import { validateChoices } from '../../../core/qa/choice-scores.ts';
import type { ServerContext } from '../../../context.ts';
import { decodeAudioWithin, type DecodedAudio } from '../../../core/audio/decode-wav.ts';
import type { LoadedModel } from '../../../runtime/model-repository.ts';
import { resolveTaskModel } from '../../../runtime/task-models.ts';
import { checkQuestionText, type SpeechQaInput } from '../../../core/qa/spoken-qa.ts';

export interface SpeechQaParts {
  model?: string;
  /** A speech-recognition model to use instead of the one the speech-qa model names. */
  recognizer?: string;
  story: Uint8Array | undefined;
  question: { text: string } | { audio: Uint8Array } | undefined;
  choices: string[];
}

export const MAX_QUESTION_CHARS = 500;

export function resolveSpeechQa(ctx: ServerContext, parts: SpeechQaParts): { loaded: LoadedModel; input: SpeechQaInput } {
  const loaded = resolveTaskModel(ctx.repository, 'speech-qa', parts.model);
  const memory = loaded.taskModel;
  const recognizerName = parts.recognizer ?? (ctx.repository.readyModels().some((m) => m.name === memory.spec.recognizer) ? memory.spec.recognizer : undefined);
  const recognizer = resolveTaskModel(ctx.repository, 'speech-recognition', recognizerName, 'recognizer').taskModel;
  const audio = (bytes: Uint8Array, field: string): DecodedAudio => decodeAudioWithin(bytes, field, ctx.config.limits.maxAudioSeconds);
  validateChoices(parts.choices); // before any streaming starts, so bad choices get a plain 400
  if (!parts.story || parts.story.length === 0) throw invalidArgument('story', 'is required (a WAV file part)');
  const story = audio(parts.story, 'story');
  if (!parts.question) throw invalidArgument('question', 'is required (text, or a WAV file part)');
  let question: SpeechQaInput['question'];
  if ('text' in parts.question) {
    if (parts.question.text.length > MAX_QUESTION_CHARS) throw invalidArgument('question', `is over ${MAX_QUESTION_CHARS} characters`);
    checkQuestionText(parts.question.text); // before the story is recognised, and before a stream starts
    question = { text: parts.question.text };
  } else {
    question = { audio: audio(parts.question.audio, 'question') };
  }
  return { loaded, input: { memory, recognizer, story, question, choices: parts.choices } };
}
