// The entry of a model executor thread: registers tsx when the host is TypeScript (development and
// tests; the build runs compiled JavaScript), then runs the host (executor-host.ts / .js), which
// owns the model's sessions and, for tasks that run there, its task model and scheduling loops.
// Plain JavaScript: worker threads do not inherit the main thread's TypeScript loader.
import { workerData } from 'node:worker_threads';

if (workerData.tsx) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.host);
