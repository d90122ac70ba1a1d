/**
 * Speech recognition from a file, a bundled sample or the microphone: the recording's player, the
 * sample's reference text and the transcript's word error rate against it, interim text as
 * recognition proceeds, finished utterances, the recognised words' CTC timings over the waveform,
 * and an input level meter while the microphone listens.
 */
import { captureMicrophone, decodeAudioFile, type DecodedAudio, type MicrophoneCapture, type RecognitionEvent, type RecognizerStream } from '../../clients/web/seqserve-web.ts';
import { wordErrors } from '../../server/core/text/edit-distance.ts';
import { $, action, authHeaders, base, clear, el, failure, inPage, mode, status } from '../lib/page.ts';
import { postStream } from '../lib/server-api.ts';
import { uploadable, wavBlob } from '../lib/wav-upload.ts';
import { clearWaveform, drawWaveform, type TimedWord } from '../render/waveform.ts';

interface ServerEvent {
  type: string;
  text?: string;
  delta?: string;
  words?: TimedWord[];
}

/** A bundled held-out recording and the text its synthetic voice spoke. */
interface Sample {
  file: string;
  text: string;
  voice: string;
}

const SAMPLES = `${base}/v1/models/asr/files/heldout-sample/`;
let samples: Sample[] = [];

/** Shows recognition as it goes: the utterance in progress, finished text, and word timings at the end. */
class TranscriptView {
  readonly words: TimedWord[] = [];
  private finals: string[] = [];
  constructor() {
    $('speech-partial').textContent = '';
    $('speech-final').textContent = '';
    clear($('speech-score'));
  }
  get text(): string {
    return this.finals.join(' ');
  }
  partial(text: string) {
    $('speech-partial').textContent = text;
  }
  final(text: string, words: readonly TimedWord[]) {
    this.finals.push(text);
    this.words.push(...words);
    $('speech-final').textContent = this.text;
    $('speech-partial').textContent = '';
  }
  page(events: readonly RecognitionEvent[]) {
    for (const e of events) {
      if (e.type === 'partial') this.partial(e.transcript.text);
      else if (e.transcript.text) this.final(e.transcript.text, e.transcript.words);
    }
  }
  async server(upload: Blob) {
    const form = new FormData();
    form.set('file', upload, 'audio.wav');
    form.set('stream', 'true');
    for await (const e of await postStream<ServerEvent>('/v1/audio/transcriptions', form)) {
      if (e.type === 'transcript.text.partial') this.partial(e.text ?? '');
      if (e.type === 'transcript.text.delta') this.final((e.delta ?? '').trim(), e.words ?? []);
    }
  }
  draw(audio: DecodedAudio) {
    drawWaveform($<HTMLCanvasElement>('speech-wave'), audio.samples, audio.sampleRate, this.words);
  }
  /** At the end: nothing recognised is said so; a sample's transcript is scored against what was spoken. */
  done(reference?: string) {
    $('speech-partial').textContent = '';
    const score = clear($('speech-score'));
    if (!this.text.trim()) {
      score.append(el('span', { className: 'empty' }, 'Nothing was recognised: the recording is silent, too quiet, or speech the model could not make out.'));
      return;
    }
    if (reference) {
      const words = reference.split(/\s+/).filter(Boolean).length;
      const errors = wordErrors(reference, this.text);
      score.textContent = `Word error rate against the reference: ${Math.round((100 * errors) / words)} % (${errors} word errors in ${words} words).`;
    }
  }
}

let playerUrl: string | undefined;
/** The recording in the player, and the text that was spoken in it when known (a sample). */
function showRecording(audio: Blob | undefined, reference?: Sample): void {
  const player = $<HTMLAudioElement>('speech-player');
  if (playerUrl) URL.revokeObjectURL(playerUrl);
  playerUrl = audio ? URL.createObjectURL(audio) : undefined;
  player.hidden = !audio;
  if (playerUrl) player.src = playerUrl;
  else player.removeAttribute('src');
  const ref = $('speech-reference');
  ref.hidden = !reference;
  ref.replaceChildren(...(reference ? [el('strong', {}, 'Spoken (reference): '), `“${reference.text}”`, ` — espeak-ng voice ${reference.voice}, not heard in training`] : []));
}

async function transcribeFile(file: Blob, reference?: Sample): Promise<void> {
  showRecording(file, reference);
  const audio = await decodeAudioFile(file);
  const view = new TranscriptView();
  view.draw(audio);
  if (mode() === 'page') {
    for await (const e of (await inPage('asr')).transcribe(audio)) view.page([e]);
  } else {
    await view.server(await uploadable(file, audio));
  }
  view.draw(audio);
  view.done(reference?.text);
}

/** An input level from 0 to 1 for a block of samples: its RMS on a 60 dB scale. */
export function level(block: Float32Array): number {
  let sum = 0;
  for (const s of block) sum += s * s;
  const rms = Math.sqrt(sum / Math.max(1, block.length));
  return Math.min(1, Math.max(0, (20 * Math.log10(rms + 1e-9) + 60) / 60));
}

/** The microphone: recognised live in the page; recorded and sent when stopped in server mode. */
class MicrophoneSession {
  private capture?: MicrophoneCapture;
  private readonly blocks: Float32Array[] = [];
  private work: Promise<void> = Promise.resolve();
  private readonly view = new TranscriptView();
  private readonly inPage = mode() === 'page';

  private stream?: RecognizerStream;

  async start(): Promise<void> {
    showRecording(undefined);
    clearWaveform($<HTMLCanvasElement>('speech-wave'), 'waveform: listening…');
    const model = this.inPage ? await inPage('asr') : undefined;
    const meter = $<HTMLMeterElement>('speech-level');
    this.capture = await captureMicrophone((samples, rate) => {
      this.blocks.push(samples);
      meter.value = level(samples);
      if (!model) return;
      const stream = (this.stream ??= model.recognizer(rate));
      this.work = this.work.then(async () => this.view.page(await stream.push(samples)));
    });
  }

  async stop(): Promise<void> {
    const rate = this.capture?.sampleRate ?? 16_000;
    await this.capture?.stop();
    $<HTMLMeterElement>('speech-level').value = 0;
    const samples = new Float32Array(this.blocks.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of this.blocks) {
      samples.set(b, at);
      at += b.length;
    }
    const audio = { samples, sampleRate: rate };
    if (samples.length > 0) showRecording(wavBlob(audio));
    if (this.inPage) {
      const stream = this.stream;
      if (stream) this.work = this.work.then(async () => this.view.page(await stream.end()));
      await this.work;
    } else if (samples.length > 0) await this.view.server(wavBlob(audio));
    this.view.draw(audio);
    this.view.done();
  }
}

/** The bundled samples and their texts (models/asr/heldout-sample/transcripts.jsonl), listed in the picker. */
async function loadSamples(): Promise<Sample[]> {
  if (samples.length) return samples;
  const res = await fetch(`${SAMPLES}transcripts.jsonl`, { headers: authHeaders() });
  if (!res.ok) throw new Error(`the sample list: HTTP ${res.status}`);
  samples = (await res.text())
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Sample);
  const pick = $<HTMLSelectElement>('speech-sample-pick');
  const chosen = pick.value;
  pick.replaceChildren(
    ...samples.map((s, i) => el('option', { value: s.file, selected: s.file === chosen }, `${i + 1}. “${s.text.length > 48 ? `${s.text.slice(0, 47)}…` : s.text}”`)),
  );
  return samples;
}

export function speechView(): void {
  // the sample list fills in the background; without it (offline before its first download) the first sample is still there
  loadSamples().catch(() => undefined);
  $('speech-file').addEventListener('change', () => showRecording($<HTMLInputElement>('speech-file').files?.[0]));
  $('speech-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const file = $<HTMLInputElement>('speech-file').files?.[0];
    if (!file) {
      status('choose an audio file first (or use the sample or the microphone)');
      return;
    }
    action('view-speech', 'speech recognition', () => transcribeFile(file));
  });
  $('speech-sample').addEventListener('click', () => {
    const file = $<HTMLSelectElement>('speech-sample-pick').value;
    action('view-speech', 'speech recognition of the sample', async () => {
      const reference = (await loadSamples().catch(() => samples)).find((s) => s.file === file);
      const res = await fetch(`${SAMPLES}${file}`, { headers: authHeaders() });
      if (!res.ok) throw new Error(`the sample ${file}: HTTP ${res.status}`);
      await transcribeFile(await res.blob(), reference);
    });
  });
  let session: MicrophoneSession | undefined;
  const button = $<HTMLButtonElement>('speech-mic');
  const others = () => Array.from($('view-speech').querySelectorAll<HTMLButtonElement>('button')).filter((b) => b !== button);
  button.addEventListener('click', () => {
    if (session) {
      const s = session;
      session = undefined;
      button.textContent = 'Start the microphone';
      button.setAttribute('aria-pressed', 'false');
      for (const b of others()) b.disabled = false;
      action('view-speech', 'speech recognition', () => s.stop());
      return;
    }
    const s = new MicrophoneSession();
    for (const b of others()) b.disabled = true;
    status('starting the microphone…', true);
    s.start().then(
      () => {
        session = s;
        button.textContent = 'Stop the microphone';
        button.setAttribute('aria-pressed', 'true');
        status(mode() === 'page' ? 'listening (recognised in the page as you speak)…' : 'recording (sent to the server when you stop)…', true);
      },
      (err: unknown) => {
        for (const b of others()) b.disabled = false;
        failure('the microphone', err);
      },
    );
  });
}
