/**
 * Visual question answering: an image and a question about it → an answer from the model's fixed
 * answer list, with the attention over the image's regions (server/core/vqa/visual-qa.ts).
 * `POST /v1/vqa`, the OpenAI vision input (a chat completion naming a visual-qa model), KServe.
 */
import { loadVisualQA, MAX_VQA_ITEMS, type VisualQA, type VqaItem, type VqaResult } from '../../core/vqa/visual-qa.ts';
import type { VqaSpec } from '../../core/manifest.ts';
import { requireRoles, requireSection, type TaskModule } from '../task-module.ts';

/** The image-question pairs of one request, answered together in one run of the graph. */
export interface VisualQaRequest {
  items: VqaItem[];
  /** How many answers each result lists (default 5). */
  topK?: number;
}

export const visualQa: TaskModule<'visual-qa', VisualQA, VisualQaRequest, VqaResult[]> = {
  name: 'visual-qa',
  description: 'answers a question about an image, with attention over its regions (POST /v1/vqa, OpenAI vision input)',
  roles: ['vqa'],
  checkManifest: (m) => {
    const issues = [...requireSection('visual-qa', m, 'vqa'), ...requireSection('visual-qa', m, 'image'), ...requireRoles('visual-qa', m, ['vqa'])];
    if (Object.keys(m.graphs).length > 1) issues.push({ path: ['graphs'], message: 'visual-qa models have one graph (role "vqa")' });
    if (m.vqa?.attention && !m.image?.grid)
      issues.push({ path: ['image', 'grid'], message: 'a visual-qa model with vqa.attention needs image.grid (the region grid it attends over)' });
    return issues;
  },
  axisBounds: ({ model, spec, manifest, add }) => {
    // BoundsManifest picks the sections other tasks bound by; the whole manifest is what is passed
    const { vqa } = manifest as { vqa?: VqaSpec };
    if (!vqa || spec.role !== 'vqa') return;
    add(vqa.image, 0, MAX_VQA_ITEMS, 'the image-question pairs of one visual-qa request');
    add(vqa.question, 0, MAX_VQA_ITEMS, 'the image-question pairs of one visual-qa request');
    add(vqa.question, 1, vqa.maxQuestionWords, `vqa.maxQuestionWords of model ${model}`);
  },
  runsInExecutor: true,
  validate: (model, { items, topK }) => void model.validate(items, topK),
  load: ({ manifest, read, runners }) => loadVisualQA(manifest, read, runners),
  async *run(model, { items, topK }, signal) {
    yield await model.answer(items, topK, signal);
  },
};
