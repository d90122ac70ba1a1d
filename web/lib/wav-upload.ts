/** Audio for the server's APIs, which read WAV: WAV files go as they are; other audio (and the microphone) as float WAV. */
import wavefile from 'wavefile';
import type { DecodedAudio } from '../../clients/web/seqserve-web.ts';

export function wavBlob(audio: DecodedAudio): Blob {
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, audio.sampleRate, '32f', audio.samples);
  return new Blob([new Uint8Array(wav.toBuffer())], { type: 'audio/wav' });
}

export async function uploadable(file: Blob, decoded: DecodedAudio): Promise<Blob> {
  const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  return String.fromCharCode(...head) === 'RIFF' ? file : wavBlob(decoded);
}
