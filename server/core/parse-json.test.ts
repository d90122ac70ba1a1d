import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseJson } from './parse-json.ts';

describe('parseJson', () => {
  const schema = z.strictObject({ image: z.string(), options: z.strictObject({ width: z.number().int() }).optional() });

  it('names the field of a bad value, an unknown key, and the body for malformed JSON', () => {
    expect(parseJson('{"image": "a"}', schema)).toEqual({ image: 'a' });
    expect(() => parseJson('{"image": 1}', schema)).toThrow(expect.objectContaining({ field: 'image' }));
    expect(() => parseJson('{"image": "a", "options": {"width": 1.5}}', schema)).toThrow(expect.objectContaining({ field: 'options.width' }));
    // an unknown key is the field at fault, not the object that holds it
    expect(() => parseJson('{"image": "a", "foo": 1}', schema)).toThrow(expect.objectContaining({ field: 'foo', message: expect.stringMatching(/^foo: .*"foo"/) }));
    expect(() => parseJson('{"image": "a", "options": {"width": 1, "hieght": 2}}', schema)).toThrow(expect.objectContaining({ field: 'options.hieght' }));
    expect(() => parseJson('{"image": ', schema)).toThrow(expect.objectContaining({ field: 'body', message: expect.stringMatching(/^body: malformed JSON/) }));
  });
});
