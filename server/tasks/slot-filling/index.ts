/** Slot filling: a word tagger (BiLSTM emissions) with CRF decoding into labelled spans. */
import { loadSlotFiller } from '../../core/slots/load-slot-filler.ts';
import type { SlotFiller, SlotFillingResult } from '../../core/slots/slot-filler.ts';
import { requireRoles, requireSection, type TaskModule } from '../task-module.ts';

/** A slot-filling request: the sentence. */
export interface SlotFillingRequest {
  text: string;
}

export const slotFilling: TaskModule<'slot-filling', SlotFiller, SlotFillingRequest, SlotFillingResult> = {
  name: 'slot-filling',
  description: 'tags the words of a sentence and returns labelled spans (POST /v1/slots)',
  roles: ['tagger'],
  checkManifest: (m) => [
    ...requireSection('slot-filling', m, 'text'),
    ...(m.decoding?.kind === 'crf' ? [] : [{ path: ['decoding'], message: 'slot-filling models need crf decoding' }]),
    ...requireRoles('slot-filling', m, ['tagger']),
  ],
  axisBounds: ({ model, spec, manifest: { text }, add }) => {
    if (!text || spec.role !== 'tagger') return;
    for (const f of [text.features.words, text.features.shapes, text.features.charNgrams]) if (f) add(f, 1, text.maxTokens, `text.maxTokens of model ${model}`);
    if (text.features.charNgrams && text.charNgrams) add(text.features.charNgrams, 2, text.charNgrams.max, `text.charNgrams.max of model ${model}`);
  },
  runsInExecutor: true,
  load: ({ manifest, read, runners }) => loadSlotFiller(manifest, read, runners),
  async *run(filler, { text }) {
    yield await filler.fill(text);
  },
};
