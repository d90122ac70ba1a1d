/**
 * The one list of tasks. A new task is a folder beside this file exporting a TaskModule, and one
 * line here.
 */
import { audioEmbedding } from './audio-embedding/index.ts';
import { caption } from './caption/index.ts';
import { chat } from './chat/index.ts';
import { generic } from './generic/index.ts';
import { slotFilling } from './slot-filling/index.ts';
import { speechQa } from './speech-qa/index.ts';
import { speechRecognition } from './speech-recognition/index.ts';
import { textClassification } from './text-classification/index.ts';
import { text2text } from './text2text/index.ts';
import { textRecognition } from './text-recognition/index.ts';
import { visualQa } from './visual-qa/index.ts';
import type { TaskModule } from './task-module.ts';

export const TASK_MODULES = [slotFilling, speechRecognition, chat, caption, speechQa, textClassification, text2text, textRecognition, visualQa, audioEmbedding, generic] as const;

export type TaskName = (typeof TASK_MODULES)[number]['name'];

/** The model a task's loader builds: `TaskModelOf<'chat'>` is a GenerationEngine. */
export type TaskModelOf<T extends TaskName> = Extract<(typeof TASK_MODULES)[number], { name: T }> extends TaskModule<T, infer M, never, unknown> ? M : never;

/** The request a task's `run` takes, and the events it yields. */
export type TaskRequestOf<T extends TaskName> = Extract<(typeof TASK_MODULES)[number], { name: T }> extends TaskModule<T, infer _M, infer R, infer _E> ? R : never;
export type TaskEventOf<T extends TaskName> = Extract<(typeof TASK_MODULES)[number], { name: T }> extends TaskModule<T, infer _M, infer _R, infer E> ? E : never;

export const TASK_NAMES = TASK_MODULES.map((t) => t.name) as [TaskName, ...TaskName[]];

export function taskModule<T extends TaskName>(name: T): Extract<(typeof TASK_MODULES)[number], { name: T }> {
  return TASK_MODULES.find((t) => t.name === name) as Extract<(typeof TASK_MODULES)[number], { name: T }>;
}
