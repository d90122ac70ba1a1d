/** Request bodies and response readers for route contract tests (`app.request`, no sockets). */
import sharp from 'sharp';
import { expect } from 'vitest';

/** The OpenAI error object every OpenAI-compatible route answers errors with. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/** A JSON POST init. */
export function jsonInit(body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): RequestInit {
  return {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
    ...(signal ? { signal } : {}),
  };
}

/** A multipart body: string values are text fields, Blobs file parts; arrays repeat the field. */
export function form(fields: Record<string, string | Blob | readonly (string | Blob)[]>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) for (const item of typeof v === 'string' || v instanceof Blob ? [v] : v) f.append(k, item);
  return f;
}

/**
 * The data of every event of a server-sent-events body, checking the framing: each event is one
 * `data: ...` line followed by a blank line, and nothing else is sent.
 */
export function sseData(text: string): string[] {
  expect(text.endsWith('\n\n')).toBe(true);
  const frames = text.slice(0, -2).split('\n\n');
  for (const f of frames) expect(f).toMatch(/^data: [^\n]*$/);
  return frames.map((f) => f.slice('data: '.length));
}

/** The events of an SSE body parsed as JSON (`[DONE]` kept as the string). */
export function sseEvents(text: string): unknown[] {
  return sseData(text).map((d) => (d === '[DONE]' ? d : JSON.parse(d)));
}

/** Reads `n` events (data strings) from an SSE body reader, keeping what is left over. */
export class SseReader {
  private buffer = '';
  private readonly decoder = new TextDecoder();
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(res: Response) {
    this.reader = res.body!.getReader();
  }

  /** The next event's data, or undefined when the body ends. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const frame = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        expect(frame).toMatch(/^data: /);
        return frame.slice('data: '.length);
      }
      const { done, value } = await this.reader.read();
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }
}

/** 16-bit PCM mono WAV bytes of `samples` (in [-1, 1]). */
export function wav(samples: Float32Array, sampleRate = 16000): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(44 + samples.length * 2);
  const v = new DataView(out.buffer);
  const text = (at: number, s: string) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  v.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  text(36, 'data');
  v.setUint32(40, samples.length * 2, true);
  samples.forEach((s, i) => v.setInt16(44 + i * 2, Math.round(Math.max(-1, Math.min(1, s)) * 32767), true));
  return out;
}

/**
 * Audio the fake acoustic model hears (test/helpers/fake-task-models.ts): `loud` seconds are a tone
 * (a word per 0.2 s chunk), `quiet` seconds silence. `[['loud', 0.4], ['quiet', 0.8]]`.
 */
export function speech(parts: ['loud' | 'quiet', number][], sampleRate = 16000): Uint8Array<ArrayBuffer> {
  const chunks = parts.map(([kind, seconds]) =>
    Float32Array.from({ length: Math.round(seconds * sampleRate) }, (_, i) => (kind === 'loud' ? 0.5 * Math.sin((2 * Math.PI * 440 * i) / sampleRate) : 0)),
  );
  const samples = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    samples.set(c, at);
    at += c.length;
  }
  return wav(samples, sampleRate);
}

/** A small PNG. */
export async function png(width = 4, height = 4): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(
    await sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .png()
      .toBuffer(),
  );
}
