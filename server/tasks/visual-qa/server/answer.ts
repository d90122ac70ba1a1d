/**
 * One visual-qa call as the endpoints make it (POST /v1/vqa, the OpenAI vision input, KServe): the
 * questions are checked on the main thread first (an unknown word is refused before any image is
 * decoded), the images decoded inside the call (within the model's request limits, stopped when the
 * client leaves) with the shared decoder (checkedImageSize, --max-image-pixels), then one graph run.
 */
import type { ServerContext } from '../../../context.ts';
import type { VqaResult } from '../../../core/vqa/visual-qa.ts';
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

/** The work of a call: decode each image (one at a time, the signal checked before each), answer all together. */
export async function* answerPairs(
  ctx: ServerContext,
  loaded: TaskLoadedModel<'visual-qa'>,
  pairs: readonly VqaPair[],
  topK: number | undefined,
  signal: AbortSignal,
): AsyncGenerator<VqaResult[]> {
  const spec = loaded.taskModel.image;
  const items = [];
  for (const p of pairs) {
    signal.throwIfAborted();
    items.push({ image: await decodeImage(p.bytes, spec, ctx.config.limits.maxImagePixels, p.fields.image), question: p.question, fields: p.fields });
  }
  yield await onlyEvent(runTask(loaded, { items, topK }, signal));
}

/** A result as the HTTP and KServe answers give it (snake_case, attention with its grid). */
export function vqaAnswerJson(r: VqaResult): Record<string, unknown> {
  return { answer: r.answer, answers: r.answers, question_words: r.words, ...(r.attention ? { attention: r.attention } : {}) };
}
