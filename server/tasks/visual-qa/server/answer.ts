/**
 * One visual-qa call as the endpoints make it (POST /v1/vqa, the OpenAI vision input, KServe): the
 * questions are checked on the main thread first (an unknown word is refused before any image is
 * decoded), the images decoded inside the call (within the model's request limits, stopped when the
 * client leaves) with the shared decoder (checkedImageSize, --max-image-pixels), then one graph run.
 * The chat route decodes its one image before it opens the call, as captioning does, so that a bad
 * image is a 4xx and not an error event after a streamed 200.
 */
import type { ServerContext } from '../../../context.ts';
import type { VqaItem, VqaResult } from '../../../core/vqa/visual-qa.ts';
import { decodeImage } from '../../../images/decode-image.ts';
import type { TaskLoadedModel } from '../../../runtime/model-repository.ts';
import { runTask } from '../../../runtime/task-models.ts';
import { onlyEvent } from '../../../service/task-call.ts';

export interface VqaPair {
  bytes: Uint8Array;
  question: string;
  /** The request fields of the image and the question, for errors. */
  fields: { image: string; question: string };
}

/** Checks the questions (and top_k) at once: what the model would refuse, thrown before any work starts. */
export function checkQuestions(loaded: TaskLoadedModel<'visual-qa'>, pairs: readonly Pick<VqaPair, 'question' | 'fields'>[], topK?: number): void {
  loaded.taskModel.validate(pairs, topK);
}

/** One pair with its image decoded to the model's input (the shared decoder: a bad or over-large image is refused, naming its field). */
export async function decodePair(ctx: ServerContext, loaded: TaskLoadedModel<'visual-qa'>, p: VqaPair): Promise<VqaItem> {
  return { image: await decodeImage(p.bytes, loaded.taskModel.image, ctx.config.limits.maxImagePixels, p.fields.image), question: p.question, fields: p.fields };
}

/** The work of a call: decode each image (one at a time, the signal checked before each), answer all together. */
export async function* answerPairs(
  ctx: ServerContext,
  loaded: TaskLoadedModel<'visual-qa'>,
  pairs: readonly VqaPair[],
  topK: number | undefined,
  signal: AbortSignal,
): AsyncGenerator<VqaResult[]> {
  const items = [];
  for (const p of pairs) {
    signal.throwIfAborted();
    items.push(await decodePair(ctx, loaded, p));
  }
  yield* answerItems(loaded, items, topK, signal);
}

/** The work of a call whose images were decoded before it opened (the chat route: its errors come before the response). */
export async function* answerItems(loaded: TaskLoadedModel<'visual-qa'>, items: VqaItem[], topK: number | undefined, signal: AbortSignal): AsyncGenerator<VqaResult[]> {
  yield await onlyEvent(runTask(loaded, { items, topK }, signal));
}

/** A result as the HTTP and KServe answers give it (snake_case, attention with its grid). */
export function vqaAnswerJson(r: VqaResult): Record<string, unknown> {
  return { answer: r.answer, answers: r.answers, question_words: r.words, ...(r.attention ? { attention: r.attention } : {}) };
}
