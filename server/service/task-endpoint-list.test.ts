import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TASK_MODULES } from '../tasks/registry.ts';
import { TASK_ENDPOINTS } from './task-endpoint-list.ts';

describe('task endpoints', () => {
  it('finds every task by its registry name: the folder is named as the task', () => {
    for (const t of TASK_MODULES) expect(existsSync(new URL(`../tasks/${t.name}/index.ts`, import.meta.url)), t.name).toBe(true);
  });

  it('loads the endpoints of every task that has them, in registry order, and none for KServe-only tasks', () => {
    expect(TASK_ENDPOINTS.map((e) => e.task)).toEqual([
      'slot-filling',
      'speech-recognition',
      'chat',
      'caption',
      'speech-qa',
      'text-classification',
      'text2text',
      'text-recognition',
      'visual-qa',
      'audio-embedding',
    ]);
    for (const { task, endpoints } of TASK_ENDPOINTS) {
      expect(endpoints.http ?? endpoints.grpc, task).toBeDefined();
      // a task with HTTP routes documents them (test/openapi.test.ts checks each route is)
      if (endpoints.http) expect(endpoints.openapi, task).toBeDefined();
    }
  });

  it('lets tasks share a gRPC service, each giving its own methods', () => {
    const ctx = {} as never;
    const generation = TASK_ENDPOINTS.flatMap(({ endpoints }) => Object.entries(endpoints.grpc?.services(ctx) ?? {})).filter(([name]) => name === 'seqserve.v1.Generation');
    expect(generation.map(([, impl]) => Object.keys(impl)).sort()).toEqual([['Caption'], ['Complete'], ['Generate']]);
  });
});
