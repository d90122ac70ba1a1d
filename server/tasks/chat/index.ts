/** Chat: a seq2seq encoder-decoder with attention over the conversation, served by the generation engine. */
import type { GenerateRequest, GenerationEngine, GenerationEvent } from '../../core/generation/generation-engine.ts';
import { checkGenerationManifest, GENERATION_ROLES, generationAxisBounds, loadGenerationEngine } from '../generation.ts';
import type { TaskModule } from '../task-module.ts';

export const chat: TaskModule<'chat', GenerationEngine, GenerateRequest, GenerationEvent> = {
  name: 'chat',
  description: 'OpenAI-compatible chat completions (POST /v1/chat/completions, seqserve.v1.Generation/Generate)',
  roles: GENERATION_ROLES,
  checkManifest: (m) => checkGenerationManifest('chat', m),
  axisBounds: generationAxisBounds,
  load: loadGenerationEngine,
  runsInExecutor: true,
  validate: (engine, request) => engine.validate(request),
  run: (engine, request, signal) => engine.generate({ ...request, signal }),
};
