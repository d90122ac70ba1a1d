/** The caption task's endpoints: `POST /v1/captions` and `seqserve.v1.Generation/Caption` over gRPC. */
import { z } from 'zod';
import {
  arrayOf,
  event,
  form,
  int,
  json,
  nullable,
  num,
  obj,
  ok,
  ref,
  type Schema,
  sse,
  SSE_NOTE,
  str,
  TEXT_FIELDS,
  withNotes,
  withoutNull,
  WORK_ERRORS,
} from '../../../http/openapi/operation.ts';
import type { TaskEndpoints } from '../../../service/task-endpoints.ts';
import { CaptionJsonBody, CaptionOptions } from '../request.ts';
import { captionMethod } from './grpc.ts';
import { captionRoutes } from './http.ts';
import { captionKServe } from './kserve.ts';

const NOTES = {
  image: 'PNG, JPEG, WebP or GIF: base64, or a data: URL (a video caption model: an animated GIF or WebP)',
  frames: "a video caption model: the clip as pictures in order, each base64 or a data: URL (instead of image); sampled to the model's frame count",
  temperature: '0 = greedy (the default)',
  beam_width: 'beam search',
  include_attention: "each token carries attention over the image regions (row-major over attention_grid), or over the clip's sampled frames (attention_frames)",
  stream: 'server-sent events: caption.token per token, then caption.done',
};

const tokenFields = {
  token: str,
  logprob: num,
  top_logprobs: arrayOf(obj({ token: str, logprob: num })),
  attention: { ...arrayOf(num), description: "over the image regions, row-major over attention_grid, or over a clip's sampled frames (with include_attention)" },
};

/** The form carries the JSON body's options as text fields (null is not a text field's value). */
function captionForm(): Schema {
  const options = withNotes(z.toJSONSchema(CaptionOptions, { io: 'input' }) as Schema, NOTES);
  const fields = Object.fromEntries(Object.entries(options.properties as Record<string, Schema>).map(([k, v]) => [k, withoutNull(v)]));
  return {
    type: 'object',
    description: `An image part and the options of the JSON body. ${TEXT_FIELDS}`,
    properties: {
      image: {
        type: 'string',
        contentMediaType: 'application/octet-stream',
        description:
          'PNG, JPEG, WebP or GIF (a file part; a text field holding base64 or a data: URL works too); at most --max-image-pixels. A video caption model takes an animated GIF or WebP (its frames together at most --max-image-pixels). Required unless frames are sent',
      },
      frames: {
        type: 'array',
        items: { type: 'string', contentMediaType: 'application/octet-stream' },
        description: "a video caption model: the clip's pictures in order, one file part each (repeated `frames` parts); together at most --max-image-pixels",
      },
      ...fields,
    },
  };
}

export const endpoints: TaskEndpoints = {
  openAiErrorPaths: ['/v1/captions'],
  http: captionRoutes,
  kserve: captionKServe,
  grpc: { protos: ['seqserve/v1/generation.proto'], services: (ctx) => ({ 'seqserve.v1.Generation': captionMethod(ctx) }) },
  openapi: () => ({
    operations: [
      {
        method: 'post',
        path: '/v1/captions',
        operationId: 'createCaption',
        tag: 'Tasks',
        summary: 'Caption an image or a video clip',
        body: {
          required: true,
          content: {
            ...form('CaptionForm', {
              image: { contentType: 'image/png, image/jpeg, image/webp, image/gif, application/octet-stream' },
              frames: { contentType: 'image/png, image/jpeg, image/webp, image/gif, application/octet-stream' },
            }),
            ...json(ref('CaptionRequest')),
          },
        },
        responses: { 200: ok('The caption; with `stream` a caption.token event per token, then caption.done', { ...json(ref('Caption')), ...sse(ref('CaptionEvent'), SSE_NOTE) }) },
        errors: WORK_ERRORS,
        badInput: ['image', 'is required (an image file part)'],
      },
    ],
    jsonBodies: [{ id: 'CaptionRequest', schema: CaptionJsonBody, notes: NOTES }],
    schemas: {
      CaptionForm: captionForm(),
      Caption: obj(
        {
          id: str,
          object: { const: 'caption' },
          model: str,
          caption: str,
          finish_reason: { enum: ['stop', 'length'] },
          tokens: arrayOf(obj(tokenFields, ['token', 'logprob'])),
          attention_grid: { ...nullable(arrayOf(int)), description: 'rows, columns of the image regions (with include_attention, image models)' },
          attention_frames: { ...int, description: 'the sampled frames attention is over (with include_attention, video models)' },
          usage: obj({ completion_tokens: int }),
        },
        ['id', 'object', 'model', 'caption', 'finish_reason', 'tokens', 'usage'],
      ),
      CaptionEvent: {
        oneOf: [
          event('caption.token', { delta: str, ...tokenFields }, ['top_logprobs', 'attention']),
          event(
            'caption.done',
            {
              id: str,
              model: str,
              caption: str,
              finish_reason: { enum: ['stop', 'length'] },
              attention_grid: nullable(arrayOf(int)),
              attention_frames: int,
              usage: obj({ completion_tokens: int }),
            },
            ['attention_grid', 'attention_frames'],
          ),
          ref('StreamErrorEvent'),
        ],
      },
    },
  }),
};
