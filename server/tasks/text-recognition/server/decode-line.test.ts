import { describe, expect, it } from 'vitest';
import { TextLineSpec } from '../spec.ts';
import { decodeLines } from './decode-line.ts';

const spec = TextLineSpec.parse({ image: { input: 'x', height: 8 }, ctc: { output: 'y', characters: 'keys.txt' } }).image;

describe('decodeLines', () => {
  it('checks the call signal before each line: an aborted call decodes nothing more', async () => {
    // bytes that are no image: decoding one would fail with "is not an image"
    const images = [0, 1, 2].map((i) => ({ bytes: new Uint8Array([1, 2, 3]), field: `image[${i}]` }));
    await expect(decodeLines(images, spec, 1000, AbortSignal.abort(new Error('client left')))).rejects.toThrow('client left');
    await expect(decodeLines(images, spec, 1000, new AbortController().signal)).rejects.toThrow(/image\[0\]: is not an image/);
  });
});
