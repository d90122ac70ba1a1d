/**
 * Every registered task's endpoints, loaded once at startup from `server/tasks/<task>/server/endpoints`
 * for each task of the registry (a task without that file serves only through KServe). Works from
 * the TypeScript sources (tsx, vitest) and from the build output alike.
 *
 * Nothing a task's endpoints import may import this module: the list awaits those imports at top
 * level, so such a cycle never settles and the process exits at start-up (code 13). Pass the list
 * down instead (as app.ts does with openai-error-paths.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TASK_MODULES, type TaskName } from '../tasks/registry.ts';
import type { TaskEndpoints } from './task-endpoints.ts';

export interface RegisteredEndpoints {
  task: TaskName;
  endpoints: TaskEndpoints;
}

const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';

async function endpointsOf(task: TaskName): Promise<RegisteredEndpoints | undefined> {
  const url = new URL(`../tasks/${task}/server/endpoints.${extension}`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) return undefined;
  const loaded = (await import(url.href)) as { endpoints?: TaskEndpoints };
  if (!loaded.endpoints) throw new Error(`server/tasks/${task}/server/endpoints.${extension} does not export "endpoints"`);
  return { task, endpoints: loaded.endpoints };
}

export const TASK_ENDPOINTS: readonly RegisteredEndpoints[] = (await Promise.all(TASK_MODULES.map((t) => endpointsOf(t.name)))).filter(
  (e): e is RegisteredEndpoints => e !== undefined,
);
