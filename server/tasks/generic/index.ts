/** Any ONNX graphs, served over KServe v2 only (REST and gRPC); no task endpoint. */
import type { TaskModule } from '../task-module.ts';

export const generic: TaskModule<'generic', null, never, never> = {
  name: 'generic',
  description: 'any ONNX graphs, served over KServe v2 (REST and gRPC) only',
  roles: ['model', 'classifier', 'tagger', 'encoder', 'decoder', 'decoder_step', 'step', 'acoustic', 'memory_network'],
  checkManifest: () => [],
  load: () => Promise.resolve(null),
  // KServe infer runs its graphs (server/kserve/infer.ts); the task has no endpoint of its own
  async *run() {
    throw new Error('generic models have no task endpoint: call their graphs over KServe');
  },
};
