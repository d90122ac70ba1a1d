/**
 * Degenerate input on every task path (issue 16 §1): audio with no samples or shorter than one
 * model chunk, speech streams that end before any audio, text that tokenizes to nothing, 1×1 and
 * extreme-aspect images, spoken-QA stories and questions without words. Each is refused with a
 * client error naming the user's field (HTTP 400 with `param`, gRPC INVALID_ARGUMENT) or handled
 * with a natural result (a short recording's possibly empty transcript, a 1×1 image's caption);
 * none reaches ONNX Runtime as a zero-size tensor, and the one server keeps serving afterwards.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { loadProto } from '../server/grpc/load-proto.ts';
import { seqserveStub, serverStream } from './helpers/grpc-stream.ts';
import { startTestServer } from './helpers/test-server.ts';

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

/** A 16-bit mono WAV of `samples` (digital silence unless given). */
function wav(samples: number | Int16Array, rate = 16000): Uint8Array<ArrayBuffer> {
  const w = new wavefile.WaveFile();
  w.fromScratch(1, rate, '16', typeof samples === 'number' ? new Int16Array(samples) : samples);
  return w.toBuffer() as Uint8Array<ArrayBuffer>;
}

const ASR_SAMPLE = path.join(BUNDLED_MODELS_DIR, 'asr', 'heldout-sample');
/** A recording of speech (the ASR card's first held-out utterance): a story the recognizer hears words in. */
const speech = (): Uint8Array<ArrayBuffer> => {
  const first = JSON.parse(readFileSync(path.join(ASR_SAMPLE, 'transcripts.jsonl'), 'utf8').split('\n')[0]) as { file: string };
  return new Uint8Array(readFileSync(path.join(ASR_SAMPLE, first.file)));
};

type OpenAiError = { message: string; param: string | null; type: string; code: string };

async function postForm(route: string, parts: Record<string, Blob | string | string[]>): Promise<{ status: number; text: string }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(parts)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
  const res = await fetch(`${server.http}${route}`, { method: 'POST', body: form });
  return { status: res.status, text: await res.text() };
}

async function postJson(route: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.http}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** Server-sent events of a response body, parsed (the `[DONE]` sentinel dropped). */
const events = (text: string) =>
  text
    .split('\n\n')
    .filter((b) => b.startsWith('data: {'))
    .map((b) => JSON.parse(b.slice(6)) as Record<string, any>);

describe('/v1/audio/transcriptions', () => {
  const transcribe = async (file: Uint8Array<ArrayBuffer>, extra: Record<string, string> = {}) => postForm('/v1/audio/transcriptions', { file: new Blob([file]), ...extra });

  it('a WAV with no samples is a 400 naming file, in every response format', async () => {
    for (const extra of [{}, { response_format: 'verbose_json' }, { response_format: 'text' }, { stream: 'true' }, { decoder: 'greedy' }] as Record<string, string>[]) {
      const res = await transcribe(wav(0), extra);
      expect({ extra, status: res.status }).toEqual({ extra, status: 400 });
      expect(JSON.parse(res.text).error).toMatchObject({ param: 'file', message: 'file: contains no audio' });
    }
  });

  it('audio shorter than one chunk (down to one sample) is padded and transcribed: silence reads as nothing', async () => {
    // the model's chunk is 3840 samples at 16 kHz (240 ms), a frame 480; one sample of silence used to read "a" (beam + LM)
    for (const [samples, rate] of [
      [1, 16000],
      [1, 8000],
      [1, 48000],
      [479, 16000],
      [480, 16000],
      [3839, 16000],
      [2, 11025],
    ]) {
      for (const decoder of ['beam', 'greedy']) {
        const plain = await transcribe(wav(samples, rate), { decoder });
        expect({ samples, rate, decoder, status: plain.status, body: JSON.parse(plain.text) }).toEqual({ samples, rate, decoder, status: 200, body: { text: '' } });
      }
      const verbose = JSON.parse((await transcribe(wav(samples, rate), { response_format: 'verbose_json' })).text);
      expect(verbose).toMatchObject({ text: '', segments: [], words: [] });
      expect(verbose.duration).toBeCloseTo(samples / rate, 3);
      const streamed = await transcribe(wav(samples, rate), { stream: 'true' });
      expect(streamed.status).toBe(200);
      expect(events(streamed.text).at(-1)).toEqual({ type: 'transcript.text.done', text: '' });
    }
  });

  it('a sub-chunk recording with sound in it gets a transcript (whatever the model hears), not an error', async () => {
    const click = Int16Array.from({ length: 200 }, (_, i) => Math.round(8000 * Math.sin(i / 3)));
    for (const extra of [{}, { response_format: 'verbose_json' }, { stream: 'true' }] as Record<string, string>[]) {
      const res = await transcribe(wav(click), extra);
      expect(res.status).toBe(200);
    }
  });
});

describe('gRPC google.cloud.speech.v1.Speech', () => {
  const pkg = loadProto('google/cloud/speech/v1/cloud_speech.proto') as any;
  const Speech = pkg.google.cloud.speech.v1.Speech;
  const recognize = (content: Uint8Array, rate = 16000) =>
    new Promise<{ err?: ServiceError; res?: { results: { alternatives: { transcript: string }[] }[] } }>((resolve) => {
      const client = new Speech(server.grpc, credentials.createInsecure());
      client.Recognize({ config: { encoding: 'LINEAR16', sample_rate_hertz: rate, language_code: 'en-US' }, audio: { content } }, (err: ServiceError | null, res: any) => {
        client.close();
        resolve(err ? { err } : { res });
      });
    });
  const stream = (writes: object[]) =>
    new Promise<{ err?: ServiceError; responses: any[] }>((resolve) => {
      const client = new Speech(server.grpc, credentials.createInsecure());
      const call = client.StreamingRecognize();
      const responses: any[] = [];
      call.on('data', (r: unknown) => responses.push(r));
      call.on('error', (err: ServiceError) => {
        client.close();
        resolve({ err, responses });
      });
      call.on('end', () => {
        client.close();
        resolve({ responses });
      });
      for (const w of writes) call.write(w);
      call.end();
    });
  const cfg = (rate = 16000, extra: object = {}) => ({ streaming_config: { config: { encoding: 'LINEAR16', sample_rate_hertz: rate }, interim_results: true, ...extra } });

  it('Recognize: a WAV with no samples or an odd number of LINEAR16 bytes is INVALID_ARGUMENT naming audio.content', async () => {
    for (const content of [wav(0), new Uint8Array([5]), new Uint8Array([5, 0, 1])]) {
      const { err } = await recognize(content);
      expect(err?.code).toBe(status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(/^audio\.content: /);
    }
  });

  it('Recognize: a single sample (WAV or raw LINEAR16) of silence is an OK response without results', async () => {
    for (const [content, rate] of [
      [wav(1), 16000],
      [wav(1, 8000), 8000],
      [new Uint8Array(2), 16000],
      [new Uint8Array(2), 48000],
    ] as const) {
      const { err, res } = await recognize(content, rate);
      expect(err).toBeUndefined();
      expect(res!.results).toEqual([]);
    }
  });

  it('StreamingRecognize: a stream that ends before any audio, or after a few samples, ends OK without results', async () => {
    const cases: object[][] = [
      [cfg()],
      [cfg(8000)],
      [cfg(16000, { single_utterance: true })],
      [cfg(), { audio_content: Buffer.alloc(0) }],
      [cfg(), { audio_content: Buffer.alloc(2) }],
      [cfg(8000), { audio_content: Buffer.alloc(2) }],
      [cfg(48000), { audio_content: Buffer.alloc(2) }, { audio_content: Buffer.alloc(0) }],
      [cfg(), ...Array.from({ length: 5 }, () => ({ audio_content: Buffer.alloc(20) }))],
    ];
    for (const writes of cases) {
      const { err, responses } = await stream(writes);
      expect({ writes: writes.length, err }).toEqual({ writes: writes.length, err: undefined });
      expect(responses.flatMap((r) => r.results).filter((r: { is_final: boolean }) => r.is_final)).toEqual([]);
    }
  });

  it('StreamingRecognize: a stream closed without any request is INVALID_ARGUMENT naming streaming_config', async () => {
    const { err } = await stream([]);
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/^streaming_config: /);
  });
});

describe('POST /v1/slots', () => {
  it('text with no tokens at all is a 400 naming text', async () => {
    for (const text of ['', '   ', '\n\t', '\u3000\u00a0', '\ufeff']) {
      const res = await postJson('/v1/slots', { text });
      expect({ text, status: res.status, error: res.json.error }).toEqual({ text, status: 400, error: expect.stringMatching(/^text: /) });
    }
  });

  it('punctuation, emoji and other symbols are tokens of their own: tagged, with offsets', async () => {
    for (const text of ['...', '!?', '😀', '😀 😀', '\u200d', '\u0301']) {
      const res = await postJson('/v1/slots', { text });
      expect(res.status).toBe(200);
      expect(res.json.tokens.length).toBeGreaterThan(0);
      expect(res.json.tags).toHaveLength(res.json.tokens.length);
      for (const s of res.json.slots) expect(text.slice(s.start, s.end)).toBe(s.value);
    }
  });
});

describe('chat: conversations the tokenizer reads nothing in', () => {
  const empty: [object[], string][] = [
    [[{ role: 'user', content: '' }], 'messages[0].content'],
    [[{ role: 'user', content: '   \n' }], 'messages[0].content'],
    [[{ role: 'user', content: '😀🎉' }], 'messages[0].content'],
    [[{ role: 'user', content: 'ü 日本' }], 'messages[0].content'],
    [[{ role: 'user', content: [] }], 'messages[0].content'],
    [[{ role: 'user', content: [{ type: 'text', text: ' ' }] }], 'messages[0].content'],
    [
      [
        { role: 'system', content: 'you book flights' },
        { role: 'user', content: ' ' },
      ],
      'messages[1].content',
    ],
    [
      [
        { role: 'user', content: ' ' },
        { role: 'assistant', content: '' },
        { role: 'user', content: '\t' },
      ],
      'messages[2].content',
    ],
  ];

  it('POST /v1/chat/completions: 400 naming the latest user turn, streaming or not', async () => {
    for (const [messages, param] of empty) {
      for (const stream of [false, true]) {
        const res = await postJson('/v1/chat/completions', { messages, stream, max_tokens: 4 });
        expect({ messages, stream, status: res.status, param: (res.json.error as OpenAiError).param }).toEqual({ messages, stream, status: 400, param });
        expect((res.json.error as OpenAiError).message).toMatch(/has no text the model can read/);
      }
    }
  });

  it('a whitespace-only turn in a conversation that has text is read as the other turns (no error)', async () => {
    const messages = [
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'hello! where would you like to go?' },
      { role: 'user', content: '   ' },
    ];
    const res = await postJson('/v1/chat/completions', { messages, temperature: 0, max_tokens: 4 });
    expect(res.status).toBe(200);
    expect(res.json.usage.prompt_tokens).toBeGreaterThan(1);
  });

  it('gRPC Generate: INVALID_ARGUMENT naming the latest user turn', async () => {
    const { stub, close } = seqserveStub('seqserve/v1/generation.proto', 'Generation', server.grpc);
    try {
      for (const [messages, param] of empty) {
        if (messages.some((m) => typeof (m as { content: unknown }).content !== 'string')) continue; // the proto's content is a string
        const res = await serverStream(stub, 'Generate', { messages, max_tokens: 4 });
        expect(res.messages).toEqual([]);
        expect(res.error).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining(`${param}: has no text the model can read`) });
      }
    } finally {
      close();
    }
  });
});

describe('captions: tiny, extreme and empty images', () => {
  const png = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: '#d33' } })
      .png()
      .toBuffer();
  let images: [string, Buffer][];
  let zeroWidthPng: Buffer;
  beforeAll(async () => {
    images = [
      ['1x1', await png(1, 1)],
      ['1x4000', await png(1, 4000)],
      ['4000x1', await png(4000, 1)],
      // transparent: flattened on white, the background of every scene, so an empty scene
      [
        '1x1 transparent gif',
        await sharp({ create: { width: 1, height: 1, channels: 4, background: '#0000' } })
          .gif()
          .toBuffer(),
      ],
    ];
    // a PNG whose header says width 0 (with a valid checksum): decoders refuse it
    zeroWidthPng = Buffer.from(images[0][1]);
    zeroWidthPng.writeUInt32BE(0, 16);
    zeroWidthPng.writeUInt32BE(crc32(zeroWidthPng.subarray(12, 29)) >>> 0, 29);
  });
  const undecodable = (): [string, Buffer][] => [
    ['empty', Buffer.alloc(0)],
    ['zero-width PNG', zeroWidthPng],
    ['zero-size SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0"></svg>')],
    ['not an image', Buffer.from('hello')],
  ];

  it('POST /v1/captions (multipart and JSON base64) resizes 1x1 and 1xN images and captions them', async () => {
    for (const [label, bytes] of images) {
      const multipart = await postForm('/v1/captions', { image: new Blob([new Uint8Array(bytes)]) });
      expect({ label, status: multipart.status }).toEqual({ label, status: 200 });
      const { caption, finish_reason } = JSON.parse(multipart.text) as { caption: string; finish_reason: string };
      expect(finish_reason).toBe('stop');
      // a 1-pixel-wide image is stretched to a picture of one colour (red, or white for the transparent
      // one flattened on white): a plain picture holds no shapes
      expect({ label, caption }).toEqual({ label, caption: 'no shapes' });
      const json = await postJson('/v1/captions', { image: bytes.toString('base64') });
      expect(json.status).toBe(200);
      expect(json.json.caption).toBe(caption);
    }
  });

  it('POST /v1/captions: an empty, zero-size or undecodable image is a 400 naming image', async () => {
    for (const [label, bytes] of undecodable()) {
      const multipart = await postForm('/v1/captions', { image: new Blob([new Uint8Array(bytes)]) });
      expect({ label, status: multipart.status, param: JSON.parse(multipart.text).error.param }).toEqual({ label, status: 400, param: 'image' });
      const json = await postJson('/v1/captions', { image: bytes.toString('base64') });
      expect({ label, status: json.status, param: json.json.error.param }).toEqual({ label, status: 400, param: 'image' });
    }
  });

  it('OpenAI vision input: a 1x1 image is captioned; an undecodable one is a 400 naming the part', async () => {
    const ask = (bytes: Buffer) =>
      postJson('/v1/chat/completions', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${bytes.toString('base64')}` } }] }] });
    const ok = await ask(images[0][1]);
    expect(ok.status).toBe(200);
    expect(ok.json.choices[0].message.content.length).toBeGreaterThan(0);
    for (const [label, bytes] of undecodable()) {
      const bad = await ask(bytes);
      expect({ label, status: bad.status, param: bad.json.error.param }).toEqual({ label, status: 400, param: 'messages[0].content[0].image_url.url' });
    }
  });

  it('gRPC Caption: a 1x1 image is captioned; an undecodable one is INVALID_ARGUMENT naming image', async () => {
    const { stub, close } = seqserveStub('seqserve/v1/generation.proto', 'Generation', server.grpc);
    try {
      const ok = await serverStream<{ caption: string; finish_reason: string }>(stub, 'Caption', { image: images[1][1] });
      expect(ok.error).toBeUndefined();
      expect(ok.messages.at(-1)!.caption.length).toBeGreaterThan(0);
      for (const [, bytes] of undecodable()) {
        const bad = await serverStream(stub, 'Caption', { image: bytes });
        expect(bad.error).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/^image: /) });
      }
    } finally {
      close();
    }
  });
});

describe('spoken QA: stories and questions without words', () => {
  const choices = ['the kitchen', 'the garden'];
  const ask = (parts: Record<string, Blob | string>) => postForm('/v1/speech-qa', { 'choices[]': choices, ...parts });
  const error = (text: string) => JSON.parse(text).error as OpenAiError;

  it('a story WAV with no samples, or with no speech (silence, one sample), is a 400 naming story', async () => {
    for (const [label, story] of [
      ['no samples', wav(0)],
      ['one sample', wav(1)],
      ['a second of silence', wav(16000)],
    ] as const) {
      const res = await ask({ story: new Blob([story]), question: 'where is mary' });
      expect({ label, status: res.status, param: error(res.text).param }).toEqual({ label, status: 400, param: 'story' });
    }
    // streaming: a story without samples is refused before the stream starts; a silent one once recognition has run
    expect((await ask({ story: new Blob([wav(0)]), question: 'where', stream: 'true' })).status).toBe(400);
    const silent = await ask({ story: new Blob([wav(1)]), question: 'where', stream: 'true' });
    expect(events(silent.text)).toEqual([
      { type: 'error', error: { message: 'story: no speech was recognised in the audio', type: 'invalid_request_error', param: 'story', code: 'invalid_argument' } },
    ]);
  });

  it('a written question without words is a 400 naming question before the story is recognised, streaming too', async () => {
    for (const question of ['', '   ', '???', '😀', '日本']) {
      for (const stream of ['false', 'true']) {
        const res = await ask({ story: new Blob([speech()]), question, stream });
        expect({ question, stream, status: res.status, param: error(res.text).param }).toEqual({ question, stream, status: 400, param: 'question' });
      }
    }
  });

  it('a question WAV with no samples or no speech is a 400 naming question', async () => {
    for (const q of [wav(0), wav(1), wav(16000)]) {
      const res = await ask({ story: new Blob([speech()]), question: new Blob([q]) });
      expect({ status: res.status, param: error(res.text).param }).toEqual({ status: 400, param: 'question' });
    }
  });

  it('gRPC Ask: the same refusals, before any story event', async () => {
    const { stub, close } = seqserveStub('seqserve/v1/speech_qa.proto', 'SpeechQa', server.grpc);
    try {
      const cases: [object, RegExp][] = [
        [{ story_wav: wav(0), question_text: 'where is mary' }, /^story: contains no audio/],
        [{ story_wav: speech(), question_text: '?!' }, /^question: has no words/],
        [{ story_wav: speech(), question_wav: wav(0) }, /^question: contains no audio/],
      ];
      for (const [req, details] of cases) {
        const res = await serverStream(stub, 'Ask', { ...req, choices });
        expect(res.messages).toEqual([]);
        expect(res.error).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(details) });
      }
    } finally {
      close();
    }
  });
});

describe('after all of the above', () => {
  it('the server still serves every task', async () => {
    const slots = await postJson('/v1/slots', { text: 'fly to denver on monday' });
    expect(slots.json.slots.map((s: { name: string }) => s.name)).toContain('toloc.city_name');
    const chat = await postJson('/v1/chat/completions', { messages: [{ role: 'user', content: 'hello' }], temperature: 0, max_tokens: 8 });
    expect(chat.json.choices[0].message.content.length).toBeGreaterThan(0);
    const transcript = await postForm('/v1/audio/transcriptions', { file: new Blob([speech()]), decoder: 'greedy' });
    expect(JSON.parse(transcript.text).text.split(' ').length).toBeGreaterThan(3);
    const ready = await fetch(`${server.http}/v2/health/ready`);
    expect(ready.status).toBe(200);
  });
});
