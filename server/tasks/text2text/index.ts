/**
 * Text to text: a prompt's characters (or words) in, text out, by a seq2seq encoder and decoder step
 * served by the generation engine (continuous batching, greedy, sampling, beam search) — g2p's
 * grapheme-to-phoneme model is one. The prompts of one request decode together in the engine's batch.
 */
import { invalidArgument } from '../../core/errors.ts';
import { type GenerateRequest, GenerationEngine, type GenerationEvent } from '../../core/generation/generation-engine.ts';
import { loadSeq2SeqModel } from '../../core/generation/seq2seq-model.ts';
import { checkGenerationManifest, GENERATION_ROLES, generationAxisBounds } from '../generation.ts';
import type { TaskModule } from '../task-module.ts';
import { loadSourceEncoder, type SourceEncoder, type SourceText } from './source-text.ts';

/** The most prompts one request takes (OpenAI's legacy completions take arrays of prompts). */
export const MAX_PROMPTS = 64;

export interface Text2TextModel {
  engine: GenerationEngine;
  source: SourceEncoder;
}

/** One request: its prompts, each decoded with the same parameters. Plain data (it crosses to the executor threads). */
export interface Text2TextRequest {
  prompts: string[];
  /** The request field of each prompt, for errors (default `prompt`, or `prompt[i]` for several). */
  fields?: string[];
  generate: Omit<GenerateRequest, 'source' | 'signal'>;
}

/** A generation event of one of the request's prompts. */
export type Text2TextEvent = GenerationEvent & { prompt: number };

function fieldOf(request: Text2TextRequest, i: number): string {
  return request.fields?.[i] ?? (request.prompts.length === 1 ? 'prompt' : `prompt[${i}]`);
}

/** Each prompt's source tokens (the checks `validate` makes). */
export function encodePrompts(model: Text2TextModel, request: Text2TextRequest): SourceText[] {
  if (request.prompts.length === 0) throw invalidArgument('prompt', 'must hold at least one prompt');
  if (request.prompts.length > MAX_PROMPTS) throw invalidArgument('prompt', `must hold at most ${MAX_PROMPTS} prompts`);
  return request.prompts.map((p, i) => model.source.encode(p, fieldOf(request, i)));
}

/** Events of several iterators as they come, each with its iterator's index; ending early ends them all. */
export async function* mergeEvents<T>(iterators: AsyncIterator<T>[]): AsyncGenerator<[number, T]> {
  const next = (i: number) => iterators[i].next().then((r) => ({ i, r }));
  const pending = new Map(iterators.map((_, i) => [i, next(i)]));
  for (const p of pending.values()) p.catch(() => undefined); // a later failure is seen through race, not as unhandled
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
        continue;
      }
      const p = next(i);
      p.catch(() => undefined);
      pending.set(i, p);
      yield [i, r.value];
    }
  } finally {
    for (const i of pending.keys()) void iterators[i].return?.()?.catch(() => undefined);
  }
}

export const text2text: TaskModule<'text2text', Text2TextModel, Text2TextRequest, Text2TextEvent> = {
  name: 'text2text',
  description: 'text in, text out by a seq2seq model with attention, e.g. grapheme-to-phoneme (POST /v1/completions)',
  roles: GENERATION_ROLES,
  checkManifest: (m) => {
    const issues = checkGenerationManifest('text2text', m);
    if (m.generation?.roles) issues.push({ path: ['generation', 'roles'], message: 'text2text models have no conversation roles' });
    return issues;
  },
  axisBounds: generationAxisBounds,
  async load({ manifest, read, runners, platform }) {
    const seq2seq = await loadSeq2SeqModel(manifest, read, runners);
    const decoder = Object.entries(manifest.graphs).find(([, g]) => g.role === 'decoder_step')?.[0] ?? '';
    return { engine: new GenerationEngine(seq2seq, platform.generation(manifest.name, decoder)), source: await loadSourceEncoder(seq2seq.spec, read, seq2seq.tokenizer) };
  },
  runsInExecutor: true,
  validate: (model, request) => void encodePrompts(model, request),
  async *run(model, request, signal) {
    const sources = encodePrompts(model, request);
    // one listener on the call's signal, whatever the number of prompts (each engine request listens to its own)
    const controllers = sources.map(() => new AbortController());
    const abort = () => controllers.forEach((c) => c.abort(signal.reason));
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    const runs = sources.map((s, i) => model.engine.generate({ ...request.generate, source: s.ids, signal: controllers[i].signal }));
    try {
      if (runs.length === 1) {
        for await (const e of runs[0]) yield { ...e, prompt: 0 };
        return;
      }
      for await (const [prompt, e] of mergeEvents(runs)) yield { ...e, prompt };
    } finally {
      signal.removeEventListener('abort', abort);
    }
  },
};
