/**
 * `seqserve.v1.Generation/Caption`: an image's caption as a server stream, with the same engine,
 * parameters and limits as POST /v1/captions. A cancelled call stops its decoding.
 */
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ServerContext } from '../../../context.ts';
import { serveStream } from '../../../grpc/server-stream.ts';
import { tokenMessage } from '../../../grpc/token-message.ts';
import { captionSource } from '../../../images/decode-video.ts';
import { resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import { openCall } from '../../../service/task-call.ts';
import { decodingParamsFromProto, type ProtoDecodingMessage } from '../../decoding-params.ts';
import { caption } from '../index.ts';
import { type CaptionOptions, captionRequest, validateCaptionOptions } from '../request.ts';

type CaptionRequestMessage = ProtoDecodingMessage & { model: string; image: Buffer };

function toCaptionOptions(req: CaptionRequestMessage): CaptionOptions {
  return validateCaptionOptions({ ...decodingParamsFromProto(req), ...(req.model ? { model: req.model } : {}) });
}

/** The caption task's method of `seqserve.v1.Generation`. */
export function captionMethod(ctx: ServerContext): UntypedServiceImplementation {
  return {
    Caption: (call: ServerWritableStream<CaptionRequestMessage, unknown>) =>
      serveStream(call, ctx, async (write, signal) => {
        const options = toCaptionOptions(call.request);
        const loaded = resolveTaskModel(ctx.repository, 'caption', options.model);
        const engine = loaded.taskModel;
        // a video caption model takes an animated GIF or WebP in `image`
        const image = await captionSource(engine.model, { image: { bytes: new Uint8Array(call.request.image), field: 'image' } }, ctx.config.limits.maxImagePixels);
        const request = captionRequest(engine.model, options, image);
        const events = openCall(ctx, { model: loaded.name, endpoint: 'grpc_caption', kind: 'stream', signal }, (s) => runTask(loaded, request, s));
        let completion = 0;
        try {
          for await (const e of events) {
            if (e.type === 'token') {
              completion++;
              await write(tokenMessage(e));
            } else {
              await write({ delta: e.delta, finish_reason: e.reason, caption: e.text, completion_tokens: completion });
            }
          }
        } finally {
          ctx.metrics.generatedTokens.inc({ model: loaded.name }, completion);
          await events.return();
        }
      }),
  };
}
