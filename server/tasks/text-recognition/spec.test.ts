import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../core/manifest.ts';

const manifest = (patch: Record<string, unknown> = {}, textLine: unknown = { image: { input: 'x', height: 48 }, ctc: { output: 'y', characters: 'keys.txt' } }) => ({
  name: 'ocr',
  task: 'text-recognition',
  graphs: { recognizer: { file: 'rec.onnx', role: 'recognizer' } },
  textLine,
  ...patch,
});

describe('the textLine manifest section', () => {
  it('fills PaddleOCR-neutral defaults and accepts npm: references', () => {
    const m = parseManifest(manifest({ graphs: { recognizer: { file: 'npm:@scope/pkg/assets/rec.onnx', role: 'recognizer' } } }));
    expect(m.textLine).toEqual({
      image: {
        input: 'x',
        height: 48,
        channels: 'rgb',
        scale: 1 / 255,
        mean: [0, 0, 0],
        std: [1, 1, 1],
        resample: 'linear',
        minWidth: 16,
        widthMultiple: 1,
        maxWidth: 3200,
        padValue: 0,
      },
      ctc: { output: 'y', scores: 'probabilities', blank: 0, characters: 'keys.txt', space: 'none', beam: { width: 8, default: false, minTokenProbability: 1e-4 } },
    });
  });

  it('names what is missing or misspelt', () => {
    const { textLine: _none, ...withoutSection } = manifest();
    expect(() => parseManifest(withoutSection)).toThrow(/textLine: text-recognition models need a textLine section/);
    expect(() => parseManifest(manifest({}, { image: { input: 'x', heigth: 48 }, ctc: { output: 'y', characters: 'k' } }))).toThrow(
      /textLine\.image\.heigth: unknown key; did you mean height\?/,
    );
    expect(() => parseManifest(manifest({}, { image: { input: 'x', height: 48, channels: 'bgra' }, ctc: { output: 'y', characters: 'k' } }))).toThrow(/textLine\.image\.channels/);
    expect(() => parseManifest(manifest({}, { image: { input: 'x', height: 48 }, ctc: { output: 'y', characters: '../keys.txt' } }))).toThrow(
      /textLine\.ctc\.characters: must be a file inside the model folder, or an npm: reference/,
    );
    expect(() => parseManifest(manifest({ graphs: { recognizer: { file: 'rec.onnx', role: 'tagger' } } }))).toThrow(/"tagger" is not a role of a text-recognition model/);
    expect(() =>
      parseManifest(
        manifest({
          graphs: { recognizer: { file: 'rec.onnx', role: 'recognizer' }, other: { file: 'o.onnx', role: 'recognizer' } },
        }),
      ),
    ).toThrow(/text-recognition models have one graph/);
  });
});
