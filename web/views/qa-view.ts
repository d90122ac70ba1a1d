/**
 * Spoken QA: the story's sentences as they are recognised, the question, the memory network's
 * attention over the sentences per hop, and the score of each choice.
 */
import { decodeAudioFile, type SpeechQaEvent } from '../../clients/web/seqserve-web.ts';
import { $, action, clear, el, inPage, mode } from '../lib/page.ts';
import { postStream } from '../lib/server-api.ts';
import { uploadable } from '../lib/wav-upload.ts';
import { attentionTable } from '../render/attention-table.ts';

type ServerQaEvent =
  | SpeechQaEvent
  | { type: 'result'; sentences: string[]; question_text: string; choices: string[]; choice_index: number; choice_scores: number[]; hops: number[][]; answer: string };

type Result = Extract<SpeechQaEvent, { type: 'result' }>['result'];

function render(e: SpeechQaEvent, sentences: string[]): void {
  const list = $('qa-sentences');
  if (e.type === 'story.partial' || e.type === 'story.sentence') {
    sentences[e.sentence] = e.text;
    list.replaceChildren(...sentences.map((s, i) => el('li', { className: i === e.sentence && e.type === 'story.partial' ? 'partial' : '' }, s)));
  } else if (e.type === 'question') {
    $('qa-question-text').textContent = `${e.spoken ? 'Heard question' : 'Question'}: ${e.text}`;
  } else if (e.type === 'answer.token') {
    $('qa-answer').textContent = `Answer: ${e.token}`;
  } else if (e.type === 'result') {
    const r: Result = e.result;
    $('qa-hops').replaceChildren(
      attentionTable(
        'Attention of each memory hop (rows) over the story sentences (columns)',
        r.hops.map((_, k) => `hop ${k + 1}`),
        r.sentences.map((s, i) => `${i + 1}. ${s}`),
        r.hops,
      ),
    );
    const choices = clear($('qa-choices-out'));
    r.choices.forEach((c, i) => {
      const meter = el('meter', { min: 0, max: 1, value: r.choice_scores[i] ?? 0 });
      choices.append(
        el(
          'li',
          { className: i === r.choice_index ? 'chosen' : '' },
          el('span', {}, `${c} `),
          meter,
          ` ${(r.choice_scores[i] ?? 0).toFixed(3)}${i === r.choice_index ? ' ✓ chosen' : ''}`,
        ),
      );
    });
  }
}

export function qaView(): void {
  $('qa-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const storyFile = $<HTMLInputElement>('qa-story').files?.[0];
    const questionFile = $<HTMLInputElement>('qa-question-audio').files?.[0];
    const questionText = $<HTMLInputElement>('qa-question').value.trim();
    const choices = $<HTMLInputElement>('qa-choices')
      .value.split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    for (const id of ['qa-sentences', 'qa-question-text', 'qa-answer', 'qa-hops', 'qa-choices-out']) clear($(id));
    action('spoken question answering', async () => {
      if (!storyFile) throw new Error('choose a story recording first');
      if (!questionText && !questionFile) throw new Error('type a question or choose a recording of one');
      if (choices.length < 2) throw new Error('give 2 to 4 answer choices, separated by commas');
      const story = await decodeAudioFile(storyFile);
      const questionAudio = questionFile && !questionText ? await decodeAudioFile(questionFile) : undefined;
      const sentences: string[] = [];
      if (mode() === 'page') {
        for await (const e of (await inPage('speech_qa')).speechQa(story, questionAudio ?? questionText, choices)) render(e, sentences);
        return;
      }
      const form = new FormData();
      form.set('story', await uploadable(storyFile, story), 'story.wav');
      if (questionAudio && questionFile) form.set('question', await uploadable(questionFile, questionAudio), 'question.wav');
      else form.set('question', questionText);
      for (const c of choices) form.append('choices[]', c);
      form.set('stream', 'true');
      for await (const e of await postStream<ServerQaEvent>('/v1/speech-qa', form)) {
        if (e.type === 'result' && !('result' in e)) render({ type: 'result', result: e as unknown as Result }, sentences);
        else render(e as SpeechQaEvent, sentences);
      }
    });
  });
}
