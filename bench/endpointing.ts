/**
 * Endpointing: the CTC-blank rule (trailing blank frames) against Silero VAD v5 (the manifest's
 * `endpointing: {"mode": "vad"}`) on the same audio. Utterances are synthesized with espeak-ng and
 * flite voices, each two sentences with a short pause between them (a speaker pausing mid-turn),
 * trimmed of the synthesizers' own silence and joined with known silences (sox), so the true end of
 * each utterance's speech is known to the sample. The bundled `asr` recognizer (greedy, as live
 * streams decode) runs over every file with each rule; an endpoint is the end time of a final
 * result. Reported per rule: delay of the endpoint after the true speech end (mean, median, p90),
 * false endpoints (a final that ends inside an utterance: cut at a pause or mid-speech) and missed
 * endpoints (no final in the silence after an utterance: it runs into the next one), and the WER of
 * the finals (did an endpoint cut words off?). In-process: the repository's own loader, no server.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { BUNDLED_MODELS_DIR, DEFAULT_CONFIG } from '../server/config.ts';
import { SeededRandom } from '../server/core/random.ts';
import { DEFAULT_ENDPOINT_RULES } from '../server/core/speech/ctc-stream-decoder.ts';
import { RecognizerStream, type AcousticModel } from '../server/core/speech/recognizer-stream.ts';
import { wordErrors } from '../server/core/text/edit-distance.ts';
import { Metrics } from '../server/observability/metrics.ts';
import { ModelRepository } from '../server/runtime/model-repository.ts';
import { asTaskModel } from '../server/runtime/task-models.ts';
import { SessionFactory } from '../server/runtime/session-factory.ts';
import { percentile } from './stats.ts';

const RATE = 16000;
/** The recognizer decides endpoints once per acoustic chunk (the bundled asr: 3840 samples). */
const CHUNK_SECONDS = 0.24;
/** The recognizer measured: the bundled one, or BENCH_MODELS's `asr` (its heldout-sample sentences are the bundled ones). */
const ASR_DIR = path.join(process.env.BENCH_MODELS ?? BUNDLED_MODELS_DIR, 'asr');
const SENTENCES = path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample', 'transcripts.jsonl');
/** Silence after each utterance: longer than every rule's threshold, so each should end there. */
const GAP_SECONDS = 3;
/** The pause inside an utterance, between its two sentences (uniform in this range). */
const PAUSE_RANGE: [number, number] = [0.25, 0.7];
/** Background noise (white, RMS relative to full scale) over the whole file. */
const NOISE_RMS = Number(process.env.BENCH_NOISE_RMS ?? 0.001);

export const VOICES: { engine: 'espeak-ng' | 'flite'; voice: string }[] = [
  ...['en-us', 'en-gb-x-gbcwmd+m6', 'en+f4', 'en-gb-scotland+klatt4', 'en-us+m3', 'en-gb-x-rp+f2', 'en-029+Annie', 'en+steph'].map((voice) => ({
    engine: 'espeak-ng' as const,
    voice,
  })),
  ...['kal16', 'slt', 'rms', 'awb', 'kal'].map((voice) => ({ engine: 'flite' as const, voice })),
];

/** 16 kHz mono float samples of `text`, without the synthesizer's leading and trailing silence. */
function synthesize(engine: string, voice: string, text: string): Float32Array {
  const dir = mkdtempSync(path.join(tmpdir(), 'seqserve-endpointing-'));
  try {
    const wav = path.join(dir, 'a.wav');
    if (engine === 'flite') execFileSync('flite', ['-voice', voice, '-t', text, '-o', wav]);
    else writeFileSync(wav, execFileSync('espeak-ng', ['-v', voice, '--stdout', text]));
    // trim at -60 dBFS both ends: the speech starts and ends where the file says
    const raw = execFileSync('sox', [
      wav,
      '-t',
      'raw',
      '-r',
      String(RATE),
      '-e',
      'signed',
      '-b',
      '16',
      '-c',
      '1',
      '-',
      'silence',
      '1',
      '0.01',
      '0.1%',
      'reverse',
      'silence',
      '1',
      '0.01',
      '0.1%',
      'reverse',
    ]);
    const out = new Float32Array(raw.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = raw.readInt16LE(i * 2) / 32768;
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Utterance {
  text: string;
  /** Seconds from the start of the file. */
  start: number;
  end: number;
  /** The pause inside it. */
  pause: [number, number];
}

export interface TestFile {
  engine: string;
  voice: string;
  audio: Float32Array;
  utterances: Utterance[];
}

/** One file per voice: every utterance (two sentences with a pause between) followed by GAP_SECONDS of silence. */
export function buildFiles(sentences: string[], voices = VOICES, seed = 19): TestFile[] {
  const random = new SeededRandom(seed);
  return voices.map(({ engine, voice }) => {
    const parts: Float32Array[] = [new Float32Array(RATE)]; // a second before the first utterance
    let t = 1;
    const utterances: Utterance[] = [];
    // each sentence with the next (0-1, 2-3, ...) and then shifted by one (1-2, 3-4, ...)
    const pairs = [0, 1].flatMap((shift) => Array.from({ length: Math.floor((sentences.length - shift) / 2) }, (_, k) => [sentences[shift + 2 * k], sentences[shift + 2 * k + 1]]));
    for (const [first, second] of pairs) {
      const a = synthesize(engine, voice, first);
      const b = synthesize(engine, voice, second);
      const pause = PAUSE_RANGE[0] + random.next() * (PAUSE_RANGE[1] - PAUSE_RANGE[0]);
      const pauseSamples = Math.round(pause * RATE);
      const start = t;
      const pauseStart = start + a.length / RATE;
      const end = pauseStart + (pauseSamples + b.length) / RATE;
      utterances.push({ text: `${first} ${second}`, start, end, pause: [pauseStart, pauseStart + pauseSamples / RATE] });
      parts.push(a, new Float32Array(pauseSamples), b, new Float32Array(GAP_SECONDS * RATE));
      t = end + GAP_SECONDS;
    }
    const audio = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      audio.set(p, offset);
      offset += p.length;
    }
    for (let i = 0; i < audio.length; i++) audio[i] += NOISE_RMS * random.gaussian();
    return { engine, voice, audio, utterances };
  });
}

export interface Rule {
  name: string;
  model: AcousticModel;
}

export interface Outcome {
  /** Endpoint delay after the true speech end, per detected endpoint (seconds): where the final says it ends. */
  delays: number[];
  /** The same endpoints, timed by how much audio the client had sent when the final arrived (the
   * end of the message that produced it): what a live client waits, a lookahead graph's frames included. */
  heardDelays: number[];
  /** Finals that end in the pause inside an utterance, and those that end in its speech. */
  pauseCuts: number;
  speechCuts: number;
  missed: number;
  utterances: number;
  wordErrors: number;
  words: number;
}

/** Runs one rule over one file (pushed in 100 ms messages, as a live client would) and scores its finals. */
export async function score(model: AcousticModel, file: TestFile): Promise<Outcome> {
  const stream = new RecognizerStream(model, { sampleRate: RATE });
  const finals: { end: number; heard: number; text: string; atEnd: boolean }[] = [];
  for (let i = 0; i < file.audio.length; i += RATE / 10) {
    const heard = Math.min(i + RATE / 10, file.audio.length) / RATE;
    for (const e of await stream.push(file.audio.subarray(i, i + RATE / 10)))
      if (e.type === 'final') finals.push({ end: e.transcript.end, heard, text: e.transcript.text, atEnd: false });
  }
  for (const e of await stream.end()) if (e.type === 'final') finals.push({ end: e.transcript.end, heard: file.audio.length / RATE, text: e.transcript.text, atEnd: true });
  const out: Outcome = { delays: [], heardDelays: [], pauseCuts: 0, speechCuts: 0, missed: 0, utterances: file.utterances.length, wordErrors: 0, words: 0 };
  const endpoints = finals.filter((f) => !f.atEnd);
  file.utterances.forEach((u, i) => {
    const next = file.utterances[i + 1]?.start ?? Infinity;
    const hit = endpoints.find((f) => f.end >= u.end && f.end < next);
    if (hit === undefined) out.missed++;
    else {
      out.delays.push(hit.end - u.end);
      out.heardDelays.push(hit.heard - u.end);
    }
    // a final decided at the end of the chunk that holds the pause's end still cut at the pause
    const inPause = (t: number) => t >= u.pause[0] && t < u.pause[1] + CHUNK_SECONDS;
    for (const t of endpoints.map((f) => f.end).filter((t) => t > u.start && t < u.end)) {
      if (inPause(t)) out.pauseCuts++;
      else out.speechCuts++;
    }
  });
  const reference = file.utterances.map((u) => u.text).join(' ');
  out.wordErrors = wordErrors(reference, finals.map((f) => f.text).join(' '));
  out.words = reference.split(' ').length;
  return out;
}

/** The bundled recognizer loaded by the repository, with the bundled Silero VAD as its endpointing graph. */
export async function loadRecognizer(): Promise<{ model: AcousticModel; close: () => Promise<void> }> {
  const root = mkdtempSync(path.join(tmpdir(), 'seqserve-endpointing-models-'));
  const dir = path.join(root, 'asr');
  mkdirSync(dir);
  for (const f of ['acoustic.onnx', 'alphabet.json', 'lm.arpa']) copyFileSync(path.join(ASR_DIR, f), path.join(dir, f));
  copyFileSync(path.join(BUNDLED_MODELS_DIR, 'silero_vad', 'silero_vad_v5.onnx'), path.join(dir, 'silero_vad_v5.onnx'));
  const manifest = JSON.parse(readFileSync(path.join(ASR_DIR, 'manifest.json'), 'utf8')) as Record<string, any>;
  delete manifest.$schema;
  manifest.graphs.vad = {
    file: 'silero_vad_v5.onnx',
    role: 'vad',
    states: [{ input: 'state', output: 'stateN', batchAxis: 1 }],
    constants: { sr: 16000 },
    warmupShapes: { input: [1, 576] },
  };
  manifest.endpointing = { mode: 'vad', graph: 'vad', input: 'input', output: 'output', frameSamples: 512, contextSamples: 64 };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  const log = pino({ level: 'warn' });
  const repo = new ModelRepository({
    root,
    sessions: new SessionFactory({ ...DEFAULT_CONFIG.runtime, providers: ['cpu'] }, log),
    log,
    metrics: new Metrics(),
    queue: DEFAULT_CONFIG.queue,
  });
  await repo.load('asr');
  const model = asTaskModel(repo.model('asr'), 'speech-recognition').taskModel;
  return {
    model,
    close: async () => {
      await repo.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The rules compared: the CTC-blank rule at its default 1.2 s and shorter, the VAD at three silences. */
function rules(model: AcousticModel): Rule[] {
  const vad = model.endpointing?.vad;
  if (!vad) throw new Error('the recognizer has no VAD endpointing');
  const blank = (s: number): Rule => ({
    name: `CTC-blank ${s * 1000} ms${s === DEFAULT_ENDPOINT_RULES.silenceAfterSpeech ? ' (default)' : ''}`,
    model: { ...model, endpointing: { rules: { ...DEFAULT_ENDPOINT_RULES, silenceAfterSpeech: s } } },
  });
  const withVad = (ms: number): Rule => ({ name: `Silero VAD ${ms} ms`, model: { ...model, endpointing: { vad: { ...vad, minSilenceMs: ms } } } });
  // a VAD silence no longer than the graph's lookahead would cut frames not yet answered (the server refuses such a manifest)
  const lookaheadMs = ((model.audio.lookaheadFrames ?? 0) * model.audio.frameSamples * 1000) / model.audio.sampleRate;
  return [blank(1.2), blank(0.8), blank(0.5), ...[800, 500, 300].filter((ms) => ms > lookaheadMs).map(withVad)];
}

function sentences(): string[] {
  return readFileSync(SENTENCES, 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { text: string }).text)
    .slice(0, 12);
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');

export async function benchEndpointing(): Promise<string> {
  const files = buildFiles(sentences());
  const audioSeconds = files.reduce((n, f) => n + f.audio.length / RATE, 0);
  const { model, close } = await loadRecognizer();
  const rows: string[] = [];
  try {
    for (const rule of rules(model)) {
      const t0 = performance.now();
      const outcomes: Outcome[] = [];
      for (const f of files) outcomes.push(await score(rule.model, f)); // one stream at a time: the wall time is the rule's cost
      const rtf = (performance.now() - t0) / 1000 / audioSeconds;
      for (const engine of ['espeak-ng', 'flite', 'all']) {
        const mine = outcomes.filter((_, i) => engine === 'all' || files[i].engine === engine);
        const delays = mine.flatMap((o) => o.delays).sort((a, b) => a - b);
        const heard = mine.flatMap((o) => o.heardDelays).sort((a, b) => a - b);
        const sum = (k: 'pauseCuts' | 'speechCuts' | 'missed' | 'utterances' | 'wordErrors' | 'words') => mine.reduce((a, o) => a + o[k], 0);
        const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
        rows.push(
          `| ${rule.name} | ${engine} | ${sum('utterances')} | ${fmt(mean)} | ${fmt(percentile(delays, 50))} | ${fmt(percentile(delays, 90))} | ${fmt(percentile(heard, 50))} | ${fmt(percentile(heard, 90))} | ${sum('pauseCuts')} | ${sum('speechCuts')} | ${sum('missed')} | ${((100 * sum('wordErrors')) / sum('words')).toFixed(1)} % | ${engine === 'all' ? rtf.toFixed(3) : ''} |`,
        );
      }
    }
  } finally {
    await close();
  }
  const voices = (engine: string) =>
    VOICES.filter((v) => v.engine === engine)
      .map((v) => v.voice)
      .join(', ');
  return [
    '### Endpointing: CTC-blank rule vs Silero VAD (`BENCH_ONLY=endpointing`)',
    '',
    `${files.reduce((n, f) => n + f.utterances.length, 0)} utterances (${files[0].utterances.length} per voice; espeak-ng ${voices('espeak-ng')}; flite ${voices('flite')}), each two held-out sentences with a ${PAUSE_RANGE[0]}–${PAUSE_RANGE[1]} s pause between them, trimmed of the synthesizer's silence and followed by ${GAP_SECONDS} s of silence; white noise at ${NOISE_RMS} RMS throughout (BENCH_NOISE_RMS). ${process.env.BENCH_MODELS ? `The \`asr\` recognizer of ${process.env.BENCH_MODELS}` : 'The bundled `asr` recognizer'}, greedy, 100 ms messages, one stream at a time. Delay: end of the final after the true end of speech (endpoints are decided once per 240 ms chunk); heard: the audio the client had sent when the final arrived (the end of the 100 ms message that produced it) after the true end of speech — what a live client waits, a lookahead graph's frames included; false endpoints: a final ending in the pause inside an utterance (a rule whose silence is shorter than the pause should cut there), or in its speech; missed: no final in the silence after an utterance; WER of all finals against the sentences; RTF: wall time per audio second of the rule's whole run (acoustic graph, decoding and, for the VAD, its graph).`,
    '',
    '| rule | voices | utterances | mean delay (s) | median (s) | p90 (s) | heard median (s) | heard p90 (s) | false: at the pause | false: in speech | missed | WER | RTF |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
