/** What the two generation tasks (chat, caption) share: an encoder and a decoder step served by one generation engine. */
import { GenerationEngine } from '../core/generation/generation-engine.ts';
import { loadSeq2SeqModel } from '../core/generation/seq2seq-model.ts';
import type { TaskBoundsContext } from '../core/feed-check.ts';
import type { ManifestBody } from '../core/manifest.ts';
import { requireRoles, requireSection, type ManifestIssue, type TaskLoadContext } from './task-module.ts';

export const GENERATION_ROLES = ['encoder', 'decoder_step'] as const;

export function checkGenerationManifest(task: string, m: ManifestBody): ManifestIssue[] {
  return [...requireSection(task, m, 'generation'), ...requireRoles(task, m, GENERATION_ROLES)];
}

/**
 * Rows one request takes in the decoding batch: n ≤ 8 choices or beam_width ≤ 16 beams (the chat
 * and caption requests' limits). The generation engine admits a lone request even when its rows
 * exceed its own maximum.
 */
const REQUEST_ROWS = 16;

/** What chat and caption requests feed the encoder and the decoder step. */
export function generationAxisBounds({ model, spec, manifest, options, add }: TaskBoundsContext): void {
  const { generation, image, video } = manifest;
  if (!generation) return;
  const of = (field: string) => `${field} of model ${model}`;
  const rows = options.decoderRows === undefined ? undefined : Math.max(options.decoderRows, REQUEST_ROWS);
  const sourceTokens = image || video ? undefined : generation.maxSourceTokens;
  if (spec.role === 'encoder') {
    // requests that arrive together share one encoder run: at most one per decoding row
    add(generation.encoder.input, 0, rows, `the requests model ${model} encodes together`);
    add(generation.encoder.input, 1, sourceTokens, of('generation.maxSourceTokens'));
    if (image) {
      add(generation.encoder.input, 1, 3, `the colour channels model ${model} feeds`);
      add(generation.encoder.input, 2, image.height, of('image.height'));
      add(generation.encoder.input, 3, image.width, of('image.width'));
    }
    if (video) {
      add(generation.encoder.input, 1, video.frames, of('video.frames'));
      add(generation.encoder.input, 2, 3, `the colour channels model ${model} feeds`);
      add(generation.encoder.input, 3, video.height, of('video.height'));
      add(generation.encoder.input, 4, video.width, of('video.width'));
    }
  }
  if (spec.role === 'decoder_step') {
    const decoded = `the sequences model ${model} decodes together`;
    add(generation.decoder.prevToken, 0, rows, decoded);
    for (const s of spec.states) add(s.input, s.batchAxis, rows, decoded);
    for (const m of generation.encoder.memory) {
      add(m, 0, rows, decoded);
      if (sourceTokens !== undefined) add(m, 1, sourceTokens, of('generation.maxSourceTokens'));
      else if (image?.grid) add(m, 1, image.grid[0] * image.grid[1], `${of('image.grid')}: its regions`);
      else if (video) add(m, 1, video.frames, `${of('video.frames')}: its frames`);
    }
  }
}

export async function loadGenerationEngine({ manifest, read, runners, platform }: TaskLoadContext): Promise<GenerationEngine> {
  const seq2seq = await loadSeq2SeqModel(manifest, read, runners);
  const decoder = Object.entries(manifest.graphs).find(([, g]) => g.role === 'decoder_step')?.[0] ?? '';
  return new GenerationEngine(seq2seq, platform.generation(manifest.name, decoder));
}
