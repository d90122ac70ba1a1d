import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import type { GraphRunner, TensorMap } from '../../core/graph-runner.ts';
import { LineRecognizer, lineTensor, loadLineRecognizer, logProbabilities, paddedLineWidth, parseCharacterList, resizedLineWidth, type LineImage } from './line-recognizer.ts';
import { textRecognition } from './index.ts';
import { TextLineSpec } from './spec.ts';

const spec = (image: Record<string, unknown> = {}, ctc: Record<string, unknown> = {}) =>
  TextLineSpec.parse({ image: { input: 'x', height: 8, ...image }, ctc: { output: 'y', characters: 'keys.txt', ...ctc } });

/** A line of `width` columns at height 8 whose pixel (x, y) channel c is `f(x, y, c)`. */
function line(width: number, f: (x: number, y: number, c: number) => number = () => 255, sourceWidth = width): LineImage {
  const pixels = new Uint8Array(width * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) pixels[(y * width + x) * 3 + c] = f(x, y, c);
  return { pixels, width, height: 8, sourceWidth };
}

/** A graph whose output has one frame per 4 input columns, each frame's scores given by `frame(t, frames)`. */
function fakeGraph(classes: number, frame: (t: number, frames: number) => number[]): GraphRunner & { widths: number[] } {
  const widths: number[] = [];
  return {
    widths,
    inputNames: ['x'],
    outputNames: ['y'],
    run: (feeds: TensorMap) => {
      const width = feeds.x.dims[3];
      widths.push(width);
      const frames = Math.floor(width / 4);
      const data = new Float32Array(frames * classes);
      for (let t = 0; t < frames; t++) data.set(frame(t, frames), t * classes);
      return Promise.resolve({ y: new Tensor('float32', data, [1, frames, classes]) });
    },
  };
}

describe('text-line pre-processing', () => {
  it('keeps the aspect ratio (ceil) and pads to minWidth, then to a multiple', () => {
    expect(resizedLineWidth(100, 50, 48)).toBe(96);
    expect(resizedLineWidth(101, 50, 48)).toBe(97); // 96.96 → 97
    expect(resizedLineWidth(1, 5000, 48)).toBe(1);
    const s = spec({ minWidth: 10, widthMultiple: 4 }).image;
    expect(paddedLineWidth(3, s)).toBe(12);
    expect(paddedLineWidth(13, s)).toBe(16);
  });

  it('normalises each channel in the declared order, planar, and pads with padValue', () => {
    const s = spec({ channels: 'bgr', scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], minWidth: 4, padValue: -7 }).image;
    // red 255, green 0, blue 51
    const { data, width } = lineTensor(
      line(2, (_x, _y, c) => [255, 0, 51][c]),
      s,
    );
    expect(width).toBe(4);
    const plane = 8 * 4;
    // channel 0 is blue: (51/255 - 0.5) / 0.5 = -0.6
    expect(data[0]).toBeCloseTo(-0.6, 6);
    expect(data[plane]).toBeCloseTo(-1, 6); // green
    expect(data[2 * plane]).toBeCloseTo(1, 6); // red
    expect(data[2]).toBe(-7); // padding, after normalisation
    expect(data[2 * plane + 3]).toBe(-7);
  });

  it('reads character lists as PaddleOCR does: one per line, a final newline and CR ignored', () => {
    expect(parseCharacterList('a\nb\r\n \nc\n', 'k')).toEqual(['a', 'b', ' ', 'c']);
    expect(parseCharacterList('\uFEFFx\ny', 'k')).toEqual(['x', 'y']);
    expect(() => parseCharacterList('', 'k.txt')).toThrow(/k\.txt: the character list is empty/);
  });

  it('turns probabilities, log-probabilities and logits into log-probabilities', () => {
    const probs = Float32Array.from([0.25, 0.75, 0, 1]);
    expect([...logProbabilities(probs, 2, 2, 'probabilities')].map((v) => Math.exp(v))).toEqual([expect.closeTo(0.25), expect.closeTo(0.75), expect.closeTo(0, 12), 1]);
    const logits = Float32Array.from([0, Math.log(3)]);
    expect(Math.exp(logProbabilities(logits, 1, 2, 'logits')[1])).toBeCloseTo(0.75, 6);
    expect([...logProbabilities(Float32Array.from([-1, -2]), 1, 2, 'log-probabilities')]).toEqual([-1, -2]);
  });
});

describe('LineRecognizer', () => {
  // classes: 0 blank, 1 "a", 2 "b", 3 " " (space appended)
  const onehot = (v: number, p = 0.9) => [0, 1, 2, 3].map((k) => (k === v ? p : (1 - p) / 3));

  it('decodes greedily: repeats collapse, blanks separate, the space is the appended last class; x is in source pixels', async () => {
    // frames: a a _ a b _ " " b  (8 frames: 32 input columns)
    const path = [1, 1, 0, 1, 2, 0, 3, 2];
    const graph = fakeGraph(4, (t) => onehot(path[t], t === 4 ? 0.6 : 0.9));
    const r = new LineRecognizer(spec({ minWidth: 1 }, { space: 'append' }), ['a', 'b'], graph);
    const [out] = await r.recognize([line(32, () => 255, 64)], 'greedy');
    expect(out.text).toBe('aab b');
    expect(out.characters.map((c) => c.char)).toEqual(['a', 'a', 'b', ' ', 'b']);
    expect(out.characters.map((c) => c.confidence)).toEqual([0.9, 0.9, 0.6, 0.9, 0.9].map((p) => expect.closeTo(p, 6)));
    expect(out.confidence).toBeCloseTo((0.9 * 4 + 0.6) / 5, 6);
    // frame t's centre is (t + 0.5) × 4 columns; the client's image is twice as wide
    expect(out.characters.map((c) => c.x)).toEqual([0, 3, 4, 6, 7].map((t) => (t + 0.5) * 4 * 2));
  });

  it('maps classes around a blank that is not class 0', async () => {
    // blank is class 3: classes 0 "a", 1 "b", 2 "c"
    const path = [0, 3, 2, 1];
    const r = new LineRecognizer(
      spec({ minWidth: 1 }, { blank: 3 }),
      ['a', 'b', 'c'],
      fakeGraph(4, (t) => onehot(path[t])),
    );
    expect((await r.recognize([line(16)], 'greedy'))[0].text).toBe('acb');
  });

  it('beam search finds the most probable text where the best path does not', async () => {
    // per frame P(blank) = 0.4, P(a) = 0.3, P(b) = 0.3 over 2 frames: best path "" (0.16); but
    // P("a") = 0.3*0.3 + 0.3*0.4 + 0.4*0.3 = 0.33 > P("") = 0.16
    const frame = () => [0.4, 0.3, 0.3, 0];
    const r = new LineRecognizer(spec({ minWidth: 1 }, { space: 'append' }), ['a', 'b'], fakeGraph(4, frame));
    expect((await r.recognize([line(8)], 'greedy'))[0]).toEqual({ text: '', confidence: 0, characters: [] });
    const beam = (await r.recognize([line(8)], 'beam'))[0];
    expect(['a', 'b']).toContain(beam.text);
    expect(beam.characters).toHaveLength(1);
    expect(beam.characters[0].confidence).toBeCloseTo(0.3, 6);
  });

  it('the manifest decides the default decoding', async () => {
    const frame = () => [0.4, 0.3, 0.3, 0];
    const r = new LineRecognizer(spec({ minWidth: 1 }, { space: 'append', beam: { default: true } }), ['a', 'b'], fakeGraph(4, frame));
    expect((await r.recognize([line(8)], undefined))[0].text).not.toBe('');
  });

  it('refuses what the graph must not see, naming the field, before any run', async () => {
    const graph = fakeGraph(4, () => onehot(0));
    const r = new LineRecognizer(spec({ minWidth: 1, maxWidth: 40 }, { space: 'append' }), ['a', 'b'], graph);
    await expect(r.recognize([], 'greedy')).rejects.toThrow(/image: is required/);
    await expect(r.recognize([line(41)], 'greedy', ['image[3]'])).rejects.toThrow(/image\[3\]: is 41 pixels wide at height 8; the model reads lines of 1 to 40/);
    await expect(r.recognize([{ ...line(4), width: 0, pixels: new Uint8Array(0) }], 'greedy')).rejects.toThrow(/image\[0\]: is 0 pixels wide/);
    await expect(r.recognize([{ ...line(4), height: 9 }], 'greedy')).rejects.toThrow(/must be resized to height 8/);
    await expect(r.recognize([{ ...line(4), pixels: new Uint8Array(5) }], 'greedy')).rejects.toThrow(/has 5 values/);
    expect(graph.widths).toEqual([]);
  });

  it('fails when the graph has another number of classes than the character list', async () => {
    const r = new LineRecognizer(
      spec({ minWidth: 1 }),
      ['a', 'b'],
      fakeGraph(4, () => onehot(0)),
    ); // no space: 3 classes expected
    await expect(r.recognize([line(8)], 'greedy')).rejects.toThrow(/has 4 classes; the character list with the blank has 3/);
  });
});

describe('cancellation', () => {
  // a graph that aborts the request during its second run, as a client leaving mid-request would
  function abortingGraph(controller: AbortController, atRun: number) {
    const graph = fakeGraph(4, () => [0.1, 0.9, 0, 0]);
    const run = graph.run.bind(graph);
    graph.run = (feeds) => {
      if (graph.widths.length + 1 === atRun) controller.abort(new Error('client left'));
      return run(feeds);
    };
    return graph;
  }

  it('runs the lines one at a time and stops at the next line once the signal aborts', async () => {
    const controller = new AbortController();
    const graph = abortingGraph(controller, 2);
    const r = new LineRecognizer(spec({ minWidth: 1 }, { space: 'append' }), ['a', 'b'], graph);
    const lines = Array.from({ length: 64 }, () => line(8));
    await expect(r.recognize(lines, 'greedy', [], controller.signal)).rejects.toThrow('client left');
    expect(graph.widths).toHaveLength(2);
  });

  it('the task passes the request signal to the recogniser (as the executor thread does, its call aborted by a cancel message)', async () => {
    const controller = new AbortController();
    const graph = abortingGraph(controller, 3);
    const r = new LineRecognizer(spec({ minWidth: 1 }, { space: 'append' }), ['a', 'b'], graph);
    const events = textRecognition.run(r, { lines: Array.from({ length: 64 }, () => line(8)), decoding: 'greedy' }, controller.signal);
    await expect(
      (async () => {
        for await (const _ of events) void _;
      })(),
    ).rejects.toThrow('client left');
    expect(graph.widths).toHaveLength(3);
  });

  it('an already aborted request runs no line', async () => {
    const graph = fakeGraph(4, () => [0.1, 0.9, 0, 0]);
    const r = new LineRecognizer(spec({ minWidth: 1 }, { space: 'append' }), ['a', 'b'], graph);
    await expect(r.recognize([line(8)], 'greedy', [], AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    expect(graph.widths).toEqual([]);
  });
});

describe('loadLineRecognizer', () => {
  const read = (text: string | Uint8Array) => () => Promise.resolve(typeof text === 'string' ? new TextEncoder().encode(text) : text);

  it("loads when the graph has the character list's classes with the blank, and names what does not fit", async () => {
    const graph = fakeGraph(4, () => [1, 0, 0, 0]);
    const r = await loadLineRecognizer(spec({}, { space: 'append' }), read('a\nb\n'), graph);
    expect(r.classes).toEqual(['', 'a', 'b', ' ']);
    expect(graph.widths).toEqual([16]); // one check run at minWidth
    await expect(
      loadLineRecognizer(
        spec(),
        read('a\nb\n'),
        fakeGraph(4, () => [1, 0, 0, 0]),
      ),
    ).rejects.toThrow(/textLine: graph output "y" has 4 classes; the character list with the blank has 3 \(keys\.txt\)/);
    await expect(loadLineRecognizer(spec({ input: 'pixels' }), read('a'), graph)).rejects.toThrow(/textLine\.image\.input: the graph has no input "pixels"/);
    await expect(loadLineRecognizer(spec({}, { output: 'probs' }), read('a'), graph)).rejects.toThrow(/textLine\.ctc\.output: the graph has no output "probs"/);
    await expect(loadLineRecognizer(spec(), read(new Uint8Array([0x61, 0xff, 0x0a])), graph)).rejects.toThrow(/keys\.txt: the character list is not UTF-8 text/);
  });
});
