/**
 * Speech recognition from a file or the microphone: interim text as recognition proceeds, finished
 * utterances, and the recognised words' CTC timings over the waveform.
 */
import { captureMicrophone, decodeAudioFile, type DecodedAudio, type MicrophoneCapture, type RecognitionEvent, type RecognizerStream } from '../../clients/web/seqserve-web.ts';
import { $, action, authHeaders, base, inPage, mode, status } from '../lib/page.ts';
import { postStream } from '../lib/server-api.ts';
import { uploadable, wavBlob } from '../lib/wav-upload.ts';
import { drawWaveform, type TimedWord } from '../render/waveform.ts';

interface ServerEvent {
  type: string;
  text?: string;
  delta?: string;
  words?: TimedWord[];
}

/** Shows recognition as it goes: the utterance in progress, finished text, and word timings at the end. */
class TranscriptView {
  readonly words: TimedWord[] = [];
  private finals: string[] = [];
  constructor() {
    $('speech-partial').textContent = '';
    $('speech-final').textContent = '';
  }
  partial(text: string) {
    $('speech-partial').textContent = text;
  }
  final(text: string, words: readonly TimedWord[]) {
    this.finals.push(text);
    this.words.push(...words);
    $('speech-final').textContent = this.finals.join(' ');
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
}

async function transcribeFile(file: Blob): Promise<void> {
  const audio = await decodeAudioFile(file);
  const view = new TranscriptView();
  view.draw(audio);
  if (mode() === 'page') {
    for await (const e of (await inPage('asr')).transcribe(audio)) view.page([e]);
  } else {
    await view.server(await uploadable(file, audio));
  }
  view.draw(audio);
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
    const model = this.inPage ? await inPage('asr') : undefined;
    this.capture = await captureMicrophone((samples, rate) => {
      this.blocks.push(samples);
      if (!model) return;
      const stream = (this.stream ??= model.recognizer(rate));
      this.work = this.work.then(async () => this.view.page(await stream.push(samples)));
    });
  }

  async stop(): Promise<void> {
    const rate = this.capture?.sampleRate ?? 16_000;
    await this.capture?.stop();
    const samples = new Float32Array(this.blocks.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of this.blocks) {
      samples.set(b, at);
      at += b.length;
    }
    const audio = { samples, sampleRate: rate };
    if (this.inPage) {
      const stream = this.stream;
      if (stream) this.work = this.work.then(async () => this.view.page(await stream.end()));
      await this.work;
    } else if (samples.length > 0) await this.view.server(wavBlob(audio));
    this.view.draw(audio);
  }
}

export function speechView(): void {
  $('speech-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const file = $<HTMLInputElement>('speech-file').files?.[0];
    if (!file) {
      status('choose an audio file first (or use the sample or the microphone)');
      return;
    }
    action('speech recognition', () => transcribeFile(file));
  });
  $('speech-sample').addEventListener('click', () => {
    action('speech recognition of the sample', async () =>
      transcribeFile(await (await fetch(`${base}/v1/models/asr/files/heldout-sample/000.wav`, { headers: authHeaders() })).blob()),
    );
  });
  let session: MicrophoneSession | undefined;
  const button = $<HTMLButtonElement>('speech-mic');
  button.addEventListener('click', () => {
    if (session) {
      const s = session;
      session = undefined;
      button.textContent = 'Start the microphone';
      button.setAttribute('aria-pressed', 'false');
      action('speech recognition', () => s.stop());
      return;
    }
    const s = new MicrophoneSession();
    s.start().then(
      () => {
        session = s;
        button.textContent = 'Stop the microphone';
        button.setAttribute('aria-pressed', 'true');
        status(mode() === 'page' ? 'listening (recognised in the page as you speak)…' : 'recording (sent to the server when you stop)…');
      },
      (err: Error) => status(err.message),
    );
  });
}
