import { describe, expect, it } from 'vitest';
import { captionOptionsFromForm, validateCaptionOptions } from './request.ts';

const form = (fields: Record<string, string>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  return f;
};

describe('caption options', () => {
  it('reads multipart text fields as numbers and booleans', () => {
    expect(captionOptionsFromForm(form({ model: 'caption', temperature: '0.5', max_tokens: '10', include_attention: 'true', stream: 'false', seed: '' }))).toEqual({
      model: 'caption',
      temperature: 0.5,
      max_tokens: 10,
      include_attention: true,
      stream: false,
    });
  });

  it('names the field that is wrong', () => {
    expect(() => captionOptionsFromForm(form({ temperature: 'warm' }))).toThrow(/^temperature: "warm" is not a number/);
    expect(() => captionOptionsFromForm(form({ stream: 'yes' }))).toThrow(/^stream: must be true or false/);
    expect(() => captionOptionsFromForm(form({ temperature: '3' }))).toThrow(/^temperature: must be between 0 and 2/);
    expect(() => validateCaptionOptions({ beam_width: 40 })).toThrow(/^beam_width: must be at most 16/);
    const f = form({});
    f.set('model', new Blob(['x']));
    expect(() => captionOptionsFromForm(f)).toThrow(/^model: must be a text field/);
  });
});
