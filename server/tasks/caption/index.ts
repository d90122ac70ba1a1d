/**
 * Image and video captioning: a CNN encoder over image regions (or a CNN per frame and a recurrent
 * encoder over a clip's frames: the manifest's `video` section) and an attention decoder, served by
 * the generation engine.
 */
import type { GenerateRequest, GenerationEngine, GenerationEvent } from '../../core/generation/generation-engine.ts';
import { checkGenerationManifest, GENERATION_ROLES, generationAxisBounds, loadGenerationEngine } from '../generation.ts';
import { requireSection, type TaskModule } from '../task-module.ts';

export const caption: TaskModule<'caption', GenerationEngine, GenerateRequest, GenerationEvent> = {
  name: 'caption',
  description: 'image and video captions (POST /v1/captions, OpenAI vision input, seqserve.v1.Generation/Caption)',
  roles: GENERATION_ROLES,
  // a still-image captioner has an image section, a video captioner a video section (one of the two)
  checkManifest: (m) => [
    ...checkGenerationManifest('caption', m),
    ...(m.image && m.video ? [{ path: ['video'], message: 'caption models have an image section or a video section, not both' }] : []),
    ...(m.video ? [] : requireSection('caption', m, 'image')),
    ...(m.video && m.video.minFrames > m.video.maxFrames ? [{ path: ['video', 'minFrames'], message: 'must be at most video.maxFrames' }] : []),
  ],
  axisBounds: generationAxisBounds,
  load: loadGenerationEngine,
  runsInExecutor: true,
  validate: (engine, request) => engine.validate(request),
  run: (engine, request, signal) => engine.generate({ ...request, signal }),
};
