import { describe, expect, it } from 'vitest';
import { ChatCompletionRequest } from './chat/request.ts';
import { CaptionOptions } from './caption/request.ts';
import { DecodingParams, decodingParamsFromProto, decodingRequest } from './decoding-params.ts';

describe('decoding parameters', () => {
  it('are one schema: chat and caption requests accept and refuse the same decoding fields alike', () => {
    for (const [field, value] of Object.entries({
      temperature: 3,
      top_p: 0,
      top_k: -1,
      beam_width: 17,
      top_logprobs: 21,
      length_penalty: 5,
      repetition_penalty: 0,
      max_tokens: 0,
    })) {
      const chat = ChatCompletionRequest.safeParse({ messages: [{ role: 'user', content: 'hi' }], [field]: value });
      const caption = CaptionOptions.safeParse({ [field]: value });
      expect(chat.success, field).toBe(false);
      expect(caption.success, field).toBe(false);
      expect(chat.error?.issues[0].message).toBe(caption.error?.issues[0].message);
    }
    expect(Object.keys(DecodingParams.shape).every((k) => k in ChatCompletionRequest.shape && k in CaptionOptions.shape)).toBe(true);
  });

  it('map to the engine with the task default temperature and the model limit', () => {
    expect(decodingRequest({}, 24, { temperature: 0 })).toEqual({
      maxNewTokens: 24,
      sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 },
      attention: false,
      topLogprobs: 0,
    });
    expect(decodingRequest({ temperature: 0.5, beam_width: 4, seed: 3, include_attention: true }, 24, { temperature: 1 })).toMatchObject({
      sampling: { temperature: 0.5 },
      beamWidth: 4,
      lengthPenalty: 0.6,
      seed: 3,
      attention: true,
    });
    expect(() => decodingRequest({ max_tokens: 25 }, 24, { temperature: 1, maxTokensField: 'max_completion_tokens' })).toThrow(/^max_completion_tokens: must be at most 24/);
  });

  it('read from a gRPC message: proto3 optionals only when set, zero means unset', () => {
    const message = {
      max_tokens: 0,
      top_k: 0,
      beam_width: 2,
      top_logprobs: 0,
      include_attention: false,
      temperature: 0,
      top_p: 0,
      seed: '7',
      _seed: 'seed',
      _temperature: 'temperature',
    };
    expect(decodingParamsFromProto(message)).toEqual({
      temperature: 0,
      top_p: undefined,
      top_k: undefined,
      seed: 7,
      top_logprobs: undefined,
      repetition_penalty: undefined,
      beam_width: 2,
      length_penalty: undefined,
      include_attention: false,
    });
  });
});
