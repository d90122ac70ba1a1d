/**
 * Re-creates the spoken held-out stories of the speech-qa model card exactly as its recipe made
 * them (models/speech_qa/recipe/train.py, synth.py): each sentence spoken by espeak-ng with the
 * story's voice, speed and pitch, resampled to 16 kHz with sox (repeatable dither, -R) and padded with the recorded
 * silences, then the recorded pause after it.
 */
import { execFileSync } from 'node:child_process';
import wavefile from 'wavefile';

export interface SpokenStory {
  sentences: string[];
  question_text: string;
  voice: string;
  speed: number;
  pitch: number;
  story_audio: { lead: string; trail: string; pause_samples: number }[];
  question_audio?: { lead: string; trail: string };
}

function speak(text: string, s: SpokenStory, pad: { lead: string; trail: string }): Int16Array {
  const wav = execFileSync('espeak-ng', ['-v', s.voice, '-s', String(s.speed), '-p', String(s.pitch), '--stdout', text], { maxBuffer: 64 << 20 });
  const raw = execFileSync('sox', ['-R', '-t', 'wav', '-', '-t', 'raw', '-r', '16000', '-e', 'signed', '-b', '16', '-c', '1', '-', 'pad', pad.lead, pad.trail], {
    input: wav,
    maxBuffer: 64 << 20,
  });
  return new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2);
}

function wavBytes(samples: Int16Array): Uint8Array {
  const w = new wavefile.WaveFile();
  w.fromScratch(1, 16000, '16', samples);
  return w.toBuffer();
}

export function storyWav(s: SpokenStory): Uint8Array {
  const parts = s.sentences.flatMap((text, i) => [speak(text, s, s.story_audio[i]), new Int16Array(s.story_audio[i].pause_samples)]);
  const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  return wavBytes(all);
}

/** The spoken question, if the story's question was spoken. */
export function questionWav(s: SpokenStory): Uint8Array | undefined {
  return s.question_audio ? wavBytes(speak(s.question_text, s, s.question_audio)) : undefined;
}

/**
 * The story read fluently: each sentence spoken as in `storyWav` but with the engine's leading and
 * trailing silence trimmed (sox silence, 1 % level) and `pauseSeconds` of silence between sentences.
 */
export function fluentStoryWav(s: SpokenStory, pauseSeconds: number): Uint8Array {
  const pause = new Int16Array(Math.round(pauseSeconds * 16000));
  const parts = s.sentences.flatMap((text) => {
    const wav = execFileSync('espeak-ng', ['-v', s.voice, '-s', String(s.speed), '-p', String(s.pitch), '--stdout', text], { maxBuffer: 64 << 20 });
    const trim = '-R -t wav - -t raw -r 16000 -e signed -b 16 -c 1 - silence 1 0.01 1% reverse silence 1 0.01 1% reverse';
    const raw = execFileSync('sox', trim.split(' '), { input: wav, maxBuffer: 64 << 20 });
    return [new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2), pause];
  });
  const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0) + 4000);
  let offset = 2000;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  return wavBytes(all);
}
