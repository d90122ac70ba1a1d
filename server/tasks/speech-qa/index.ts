/** Spoken question answering: a speech recognizer (another model) and an end-to-end memory network. */
import { loadMemoryNetwork, type MemoryNetwork } from '../../core/qa/memory-network.ts';
import { SEGMENTER_WINDOW } from '../../core/qa/sentence-boundaries.ts';
import { answerSpokenQuestion, type SpeechQaEvent, type SpeechQaInput } from '../../core/qa/spoken-qa.ts';
import { requireRoles, requireSection, type TaskModule } from '../task-module.ts';

/** A spoken-QA request: everything of SpeechQaInput but the memory network, which is the model. */
export type SpeechQaRequest = Omit<SpeechQaInput, 'memory' | 'signal'>;

export const speechQa: TaskModule<'speech-qa', MemoryNetwork, SpeechQaRequest, SpeechQaEvent> = {
  name: 'speech-qa',
  description: 'answers a spoken question about a spoken story (POST /v1/speech-qa, seqserve.v1.SpeechQa/Ask)',
  roles: ['memory_network', 'sentence_boundaries'],
  checkManifest: (m) => [...requireSection('speech-qa', m, 'memory'), ...requireRoles('speech-qa', m, ['memory_network'])],
  axisBounds: ({ model, spec, manifest: { memory }, add }) => {
    if (memory?.segmenter && spec.role === 'sentence_boundaries') add(memory.segmenter.chars, 1, SEGMENTER_WINDOW, 'the segmenter window (server/core/qa/sentence-boundaries.ts)');
    if (!memory || spec.role !== 'memory_network') return;
    const of = (field: string) => `${field} of model ${model}`;
    const ids = 1 + memory.wordIds.maxNgrams;
    add(memory.story, 1, memory.maxSentences, of('memory.maxSentences'));
    add(memory.story, 2, memory.maxWords, of('memory.maxWords'));
    add(memory.story, 3, ids, `1 + ${of('memory.wordIds.maxNgrams')}`);
    add(memory.question, 1, memory.maxWords, of('memory.maxWords'));
    add(memory.question, 2, ids, `1 + ${of('memory.wordIds.maxNgrams')}`);
  },
  load: ({ manifest, read, runners }) => loadMemoryNetwork(manifest, read, runners),
  run: (memory, request, signal) => answerSpokenQuestion({ ...request, memory, signal }),
};
