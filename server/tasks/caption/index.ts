/** Image captioning: a CNN encoder over image regions and an attention decoder, served by the generation engine. */
import type { GenerateRequest, GenerationEngine, GenerationEvent } from '../../core/generation/generation-engine.ts';
import { checkGenerationManifest, GENERATION_ROLES, generationAxisBounds, loadGenerationEngine } from '../generation.ts';
import { requireSection, type TaskModule } from '../task-module.ts';

export const caption: TaskModule<'caption', GenerationEngine, GenerateRequest, GenerationEvent> = {
  name: 'caption',
  description: 'image captions (POST /v1/captions, OpenAI vision input, seqserve.v1.Generation/Caption)',
  roles: GENERATION_ROLES,
  checkManifest: (m) => [...checkGenerationManifest('caption', m), ...requireSection('caption', m, 'image')],
  axisBounds: generationAxisBounds,
  load: loadGenerationEngine,
  runsInExecutor: true,
  validate: (engine, request) => engine.validate(request),
  run: (engine, request, signal) => engine.generate({ ...request, signal }),
};
