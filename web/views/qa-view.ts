/**
 * Spoken QA: a sample story (spoken by espeak-ng, with its text) or the visitor's recordings; the
 * story's sentences as they are recognised, the question that was used (typed or spoken: the choice
 * is the visitor's, and said), the memory network's attention over the sentences per hop, and the
 * score of each choice.
 */
import { decodeAudioFile, type SpeechQaEvent } from '../../clients/web/seqserve-web.ts';
import { $, action, authHeaders, base, clear, el, inPage, mode } from '../lib/page.ts';
import { postStream } from '../lib/server-api.ts';
import { uploadable } from '../lib/wav-upload.ts';
import { ATTENTION_RGB, attentionTable } from '../render/attention-table.ts';
import { colourScale } from '../render/colour-scale.ts';

type ServerQaEvent =
  | SpeechQaEvent
  | { type: 'result'; sentences: string[]; question_text: string; choices: string[]; choice_index: number; choice_scores: number[]; hops: number[][]; answer: string };

type Result = Extract<SpeechQaEvent, { type: 'result' }>['result'];

/** models/speech_qa/demo-sample/sample.json: what the sample's recordings say. */
interface Sample {
  sentences: string[];
  question_text: string;
  choices: string[];
  answer: string;
  voice: string;
}

const SAMPLE = `${base}/v1/models/speech_qa/files/demo-sample/`;

function render(e: SpeechQaEvent, sentences: string[]): void {
  const list = $('qa-sentences');
  if (e.type === 'story.partial' || e.type === 'story.sentence') {
    sentences[e.sentence] = e.text;
    list.replaceChildren(...sentences.map((s, i) => el('li', { className: i === e.sentence && e.type === 'story.partial' ? 'partial' : '' }, s)));
  } else if (e.type === 'question') {
    $('qa-question-text').textContent = e.spoken ? `Question used: the spoken one, heard as “${e.text}”` : `Question used: the typed one, “${e.text}”`;
  } else if (e.type === 'answer.token') {
    $('qa-answer').textContent = `The model's answer: ${e.token}`;
  } else if (e.type === 'result') {
    const r: Result = e.result;
    // one row per sentence (they wrap), one narrow column per hop: the attended sentences are readable at any width
    const bySentence = r.sentences.map((_, i) => r.hops.map((hop) => hop[i] ?? 0));
    $('qa-hops').replaceChildren(
      attentionTable(
        'Attention of each memory hop (columns) over the recognised story sentences (rows)',
        r.sentences.map((s, i) => `${i + 1}. ${s}`),
        r.hops.map((_, k) => `hop ${k + 1}`),
        bySentence,
        { wrapRows: true },
      ),
      colourScale('attention weight', `rgb(${ATTENTION_RGB} / 0)`, `rgb(${ATTENTION_RGB} / 1)`, '0', '1'),
    );
    const choices = clear($('qa-choices-out'));
    r.choices.forEach((c, i) => {
      const meter = el('meter', { min: 0, max: 1, value: r.choice_scores[i] ?? 0 });
      meter.setAttribute('aria-label', `score of ${c}`);
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

const players = new Map<string, string>();
/** A recording in its player (hidden when there is none). */
function play(id: string, audio: Blob | undefined): void {
  const player = $<HTMLAudioElement>(id);
  const old = players.get(id);
  if (old) URL.revokeObjectURL(old);
  player.hidden = !audio;
  if (!audio) {
    players.delete(id);
    player.removeAttribute('src');
    return;
  }
  const url = URL.createObjectURL(audio);
  players.set(id, url);
  player.src = url;
}

/** Puts a file into a file input, as if the visitor had chosen it. */
function choose(input: HTMLInputElement, file: File): void {
  const files = new DataTransfer();
  files.items.add(file);
  input.files = files.files;
}

async function sampleFile(name: string): Promise<File> {
  const res = await fetch(`${SAMPLE}${name}`, { headers: authHeaders() });
  if (!res.ok) throw new Error(`the sample's ${name}: HTTP ${res.status}`);
  return new File([await res.blob()], `sample-${name}`, { type: 'audio/wav' });
}

/** The sample: its story and spoken question in the inputs and players, its typed question and choices, and what it says. */
async function useSample(): Promise<void> {
  const res = await fetch(`${SAMPLE}sample.json`, { headers: authHeaders() });
  if (!res.ok) throw new Error(`the sample story: HTTP ${res.status}`);
  const sample = (await res.json()) as Sample;
  const [story, question] = await Promise.all([sampleFile('story.wav'), sampleFile('question.wav')]);
  choose($<HTMLInputElement>('qa-story'), story);
  choose($<HTMLInputElement>('qa-question-audio'), question);
  play('qa-story-player', story);
  play('qa-question-player', question);
  $<HTMLInputElement>('qa-question').value = sample.question_text;
  $<HTMLInputElement>('qa-ask-spoken').checked = true;
  $<HTMLInputElement>('qa-choices').value = sample.choices.join(', ');
  const text = $('qa-sample-text');
  text.hidden = false;
  text.replaceChildren(
    el('strong', {}, 'The sample story'),
    ` (a held-out story spoken by espeak-ng's ${sample.voice} voice): “${sample.sentences.join('. ')}.” Question: “${sample.question_text}” — the right answer is “${sample.answer}”. Press Answer.`,
  );
}

export function qaView(): void {
  const storyInput = $<HTMLInputElement>('qa-story');
  const questionInput = $<HTMLInputElement>('qa-question-audio');
  storyInput.addEventListener('change', () => play('qa-story-player', storyInput.files?.[0]));
  // choosing a recording of a question asks it; typing a question asks that one
  questionInput.addEventListener('change', () => {
    play('qa-question-player', questionInput.files?.[0]);
    if (questionInput.files?.[0]) $<HTMLInputElement>('qa-ask-spoken').checked = true;
  });
  $('qa-question').addEventListener('input', () => ($<HTMLInputElement>('qa-ask-typed').checked = true));
  $('qa-sample').addEventListener('click', () => action('view-qa', 'loading the sample story', useSample, { local: true }));
  $('qa-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const storyFile = storyInput.files?.[0];
    const spoken = $<HTMLInputElement>('qa-ask-spoken').checked;
    const questionFile = spoken ? questionInput.files?.[0] : undefined;
    const questionText = $<HTMLInputElement>('qa-question').value.trim();
    const choices = $<HTMLInputElement>('qa-choices')
      .value.split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    for (const id of ['qa-sentences', 'qa-question-text', 'qa-answer', 'qa-hops', 'qa-choices-out']) clear($(id));
    action('view-qa', 'spoken question answering', async () => {
      if (!storyFile) throw new Error('choose a story recording first (or press "Use the sample story")');
      if (spoken && !questionFile) throw new Error('choose a recording of the question, or pick the typed question');
      if (!spoken && !questionText) throw new Error('type a question, or pick the spoken one');
      if (choices.length < 2) throw new Error('give 2 to 4 answer choices, separated by commas');
      const story = await decodeAudioFile(storyFile);
      const questionAudio = questionFile ? await decodeAudioFile(questionFile) : undefined;
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
