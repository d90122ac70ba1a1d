import { describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import { SeqserveError } from '../errors.ts';
import { audioWithin, decodeAudioWithin, decodeWav } from './decode-wav.ts';

function wavBytes(channels: number, rate: number, bitDepth: string, samples: number[][]): Uint8Array {
  const w = new wavefile.WaveFile();
  w.fromScratch(channels, rate, bitDepth, channels === 1 ? samples[0] : samples);
  return w.toBuffer();
}

describe('decodeWav', () => {
  it('reads 16-bit PCM mono', () => {
    const out = decodeWav(wavBytes(1, 16000, '16', [[0, 16384, -16384, 32767]]));
    expect(out.sampleRate).toBe(16000);
    expect([...out.samples]).toEqual([0, 0.5, -0.5, 32767 / 32768]);
  });

  it('mixes stereo to mono and reads float and 8-bit files', () => {
    expect([
      ...decodeWav(
        wavBytes(2, 44100, '16', [
          [16384, 0],
          [0, -16384],
        ]),
      ).samples,
    ]).toEqual([0.25, -0.25]);
    expect([...decodeWav(wavBytes(1, 8000, '32f', [[0.25, -1]])).samples]).toEqual([0.25, -1]);
    expect([...decodeWav(wavBytes(1, 8000, '8', [[128, 192]])).samples]).toEqual([0, 0.5]);
  });

  it('rejects corrupt, truncated, empty and out-of-range files naming the field', () => {
    const good = wavBytes(1, 16000, '16', [[1, 2, 3]]);
    const cases: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode('not a wav at all'), /not a readable WAV file/],
      [good.slice(0, 20), /not a readable WAV file|cannot be read/],
      [wavBytes(1, 16000, '16', [[]]), /contains no audio/],
      [wavBytes(1, 96000, '16', [[1]]), /sample rate 96000 Hz/],
    ];
    for (const [bytes, message] of cases) {
      let err: unknown;
      try {
        decodeWav(bytes);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SeqserveError);
      expect((err as SeqserveError).field).toBe('file');
      expect((err as SeqserveError).message).toMatch(message);
    }
  });
});

/** A WAV file assembled from chunks: RIFF (or big-endian RIFX) and the given chunks in order. */
function riff(chunks: [string, Uint8Array][], container: 'RIFF' | 'RIFX' = 'RIFF'): Uint8Array {
  const le = container === 'RIFF';
  const parts: Uint8Array[] = [];
  for (const [id, body] of chunks) {
    const head = new Uint8Array(8);
    head.set(new TextEncoder().encode(id));
    new DataView(head.buffer).setUint32(4, body.byteLength, le);
    parts.push(head, body, new Uint8Array(body.byteLength & 1));
  }
  const size = parts.reduce((n, p) => n + p.byteLength, 4);
  const out = new Uint8Array(8 + size);
  out.set(new TextEncoder().encode(`${container}    WAVE`));
  new DataView(out.buffer).setUint32(4, size, le);
  let at = 12;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function fmtChunk(format: number, channels: number, rate: number, bits: number, le = true): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  const block = channels * Math.ceil(bits / 8);
  v.setUint16(0, format, le);
  v.setUint16(2, channels, le);
  v.setUint32(4, rate, le);
  v.setUint32(8, rate * block, le);
  v.setUint16(12, block, le);
  v.setUint16(14, bits, le);
  return b;
}

const int16 = (values: number[], le = true) => {
  const b = new Uint8Array(values.length * 2);
  values.forEach((x, i) => new DataView(b.buffer).setInt16(i * 2, x, le));
  return b;
};

describe('decodeWav: the file is read by its chunk headers', () => {
  it('gives what wavefile writes for 24- and 32-bit PCM and 64-bit float; reads extensible files', () => {
    const values = [0, 0.5, -0.5, 0.25, -1];
    for (const [depth, scale] of [
      ['24', 2 ** 23],
      ['32', 2 ** 31],
      ['64', 1],
    ] as const) {
      const w = new wavefile.WaveFile();
      const ints = values.map((x) => Math.max(-scale, Math.min(scale - 1, Math.round(x * scale))));
      w.fromScratch(1, 16000, depth, depth === '64' ? values : ints);
      expect(
        [...decodeWav(w.toBuffer()).samples].map((x) => +x.toFixed(6)),
        depth,
      ).toEqual(values);
    }
    // WAVE_FORMAT_EXTENSIBLE (0xFFFE): the format is the sub-format GUID's first two bytes (PCM)
    const ext = new Uint8Array(40);
    ext.set(fmtChunk(0xfffe, 3, 16000, 16));
    new DataView(ext.buffer).setUint16(16, 22, true);
    new DataView(ext.buffer).setUint16(24, 1, true);
    expect([
      ...decodeWav(
        riff([
          ['fmt ', ext],
          ['data', int16([3000, 0, -6000])],
        ]),
      ).samples,
    ]).toEqual([-3000 / 3 / 32768]);
  });

  it('skips chunks it does not need unread, however large their counts (a cue chunk claiming 268 million points)', () => {
    const cue = new Uint8Array(4);
    new DataView(cue.buffer).setUint32(0, 0x0fffffff, true);
    const smpl = new Uint8Array(60);
    new DataView(smpl.buffer).setUint32(28, 0x0fffffff, true);
    const odd = new Uint8Array(3); // padded to 4 bytes in the file
    const bytes = riff([
      ['fmt ', fmtChunk(1, 1, 16000, 16)],
      ['cue ', cue],
      ['smpl', smpl],
      ['LIST', odd],
      ['data', int16([16384, -16384])],
    ]);
    expect([...decodeWav(bytes).samples]).toEqual([0.5, -0.5]);
  });

  it('reads big-endian RIFX, a data chunk before fmt, and a streaming data size (0xFFFFFFFF) to the end of the file', () => {
    expect([
      ...decodeWav(
        riff(
          [
            ['fmt ', fmtChunk(1, 1, 8000, 16, false)],
            ['data', int16([8192], false)],
          ],
          'RIFX',
        ),
      ).samples,
    ]).toEqual([0.25]);
    expect([
      ...decodeWav(
        riff([
          ['data', int16([8192])],
          ['fmt ', fmtChunk(1, 1, 8000, 16)],
        ]),
      ).samples,
    ]).toEqual([0.25]);
    const streaming = riff([
      ['fmt ', fmtChunk(1, 1, 8000, 16)],
      ['data', int16([8192, 8192, 8192])],
    ]);
    new DataView(streaming.buffer).setUint32(streaming.byteLength - 6 - 4, 0xffffffff, true);
    expect(decodeWav(streaming).samples).toHaveLength(3);
  });

  it('reads RF64, RIFX extensible, big-endian 24-bit negatives, left-justified 12-bit samples, and bytes inside a larger buffer', () => {
    const rf64 = riff([
      ['ds64', new Uint8Array(28)],
      ['fmt ', fmtChunk(1, 1, 16000, 16)],
      ['data', int16([16384, -8192])],
    ]);
    rf64.set(new TextEncoder().encode('RF64'));
    new DataView(rf64.buffer).setUint32(rf64.byteLength - 8, 0xffffffff, true); // the data chunk's size, as RF64 writes it
    expect([...decodeWav(rf64).samples]).toEqual([0.5, -0.25]);
    const ext = new Uint8Array(40);
    ext.set(fmtChunk(0xfffe, 1, 8000, 24, false));
    new DataView(ext.buffer).setUint32(24, 1, false); // KSDATAFORMAT_SUBTYPE_PCM, big-endian
    const be24 = new Uint8Array([0xc0, 0x00, 0x00, 0x20, 0x00, 0x00]); // -0.5, 0.25
    expect([
      ...decodeWav(
        riff(
          [
            ['fmt ', ext],
            ['data', be24],
          ],
          'RIFX',
        ),
      ).samples,
    ]).toEqual([-0.5, 0.25]);
    // 12 bits in 16, left-justified as WAVE stores them: -2048 << 4 is -1
    expect([
      ...decodeWav(
        riff([
          ['fmt ', fmtChunk(1, 1, 8000, 12)],
          ['data', int16([-2048 << 4, 1024 << 4])],
        ]),
      ).samples,
    ]).toEqual([-1, 0.5]);
    const file = riff([
      ['fmt ', fmtChunk(1, 1, 8000, 16)],
      ['data', int16([8192, -8192])],
    ]);
    const inside = new Uint8Array(file.byteLength + 7);
    inside.set(file, 7);
    expect([...decodeWav(inside.subarray(7)).samples]).toEqual([0.25, -0.25]);
  });

  it('refuses what it cannot read, naming the field', () => {
    const cases: [Uint8Array, RegExp][] = [
      [riff([['data', int16([1])]]), /no complete fmt chunk/],
      [riff([['fmt ', fmtChunk(1, 1, 8000, 16)]]), /no data chunk/],
      [
        riff([
          ['fmt ', fmtChunk(6, 1, 8000, 8)],
          ['data', new Uint8Array(4)],
        ]),
        /encoding 6 is not supported/,
      ],
      [
        riff([
          ['fmt ', fmtChunk(3, 1, 8000, 16)],
          ['data', new Uint8Array(4)],
        ]),
        /16-bit float/,
      ],
      [
        riff([
          ['fmt ', fmtChunk(1, 1, 8000, 40)],
          ['data', new Uint8Array(10)],
        ]),
        /40-bit PCM/,
      ],
      [
        riff([
          ['fmt ', fmtChunk(1, 0, 8000, 16)],
          ['data', new Uint8Array(4)],
        ]),
        /no channels/,
      ],
      [new TextEncoder().encode('RIFF\xff\xff\xff\xffWAVX'), /no RIFF WAVE header/],
    ];
    for (const [bytes, message] of cases) expect(() => decodeWav(bytes, 'audio')).toThrow(expect.objectContaining({ field: 'audio', message: expect.stringMatching(message) }));
  });

  it("holds audio to the caller's limit from the header, with the caller's error", () => {
    const tenSeconds = riff([
      ['fmt ', fmtChunk(1, 2, 8000, 16)],
      ['data', new Uint8Array(8000 * 4 * 10)],
    ]);
    expect(decodeWav(tenSeconds, 'file', { maxSeconds: 10 }).samples).toHaveLength(80000);
    expect(() => decodeWav(tenSeconds, 'file', { maxSeconds: 9.5 })).toThrow('file: is 10.0 s long; the limit is 9.5 s');
    expect(() => decodeWav(tenSeconds, 'file', { maxSeconds: 1, tooLong: (s) => new SeqserveError('out_of_range', `${s} s`) })).toThrow(
      expect.objectContaining({ code: 'out_of_range', message: '10 s' }),
    );
  });
});

describe('decodeAudioWithin', () => {
  const twoSeconds = () => wavBytes(1, 8000, '16', [new Array(16000).fill(0)]);

  it('decodes a WAV file within the limit; over it, refuses naming the field, the length and the limit', () => {
    expect(decodeAudioWithin(twoSeconds(), 'story', 2).samples).toHaveLength(16000);
    expect(() => decodeAudioWithin(twoSeconds(), 'story', 1.5)).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'story', message: 'story: is 2.0 s long; the limit is 1.5 s' }),
    );
    expect(() => decodeAudioWithin(new Uint8Array(8), 'inputs.audio[1]', 10)).toThrow(/^inputs\.audio\[1\]: not a readable WAV file/);
  });

  it("takes the caller's own error for audio over the limit", () => {
    const audio = { samples: new Float32Array(24000), sampleRate: 16000 };
    expect(audioWithin(audio, 'audio.content', 1.5)).toBe(audio);
    expect(() => audioWithin(audio, 'audio.content', 1, (s) => new SeqserveError('out_of_range', `audio.content: ${s.toFixed(1)} s is over the limit of 1 s`))).toThrow(
      expect.objectContaining({ code: 'out_of_range', message: 'audio.content: 1.5 s is over the limit of 1 s' }),
    );
  });
});
