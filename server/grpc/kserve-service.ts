/** `inference.GRPCInferenceService`: the KServe v2 gRPC API over the same repository as REST. */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { ServerDuplexStream, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { asSeqserveError, SeqserveError } from '../core/errors.ts';
import type { ServerContext } from '../context.ts';
import { decodeGrpcInfer, encodeGrpcInfer, type GrpcInferRequest } from '../kserve/grpc-codec.ts';
import { kserveMetadata, kserveTarget, runKServeInfer } from '../kserve/task-model.ts';
import { serverMetadata } from '../kserve/server-metadata.ts';
import { grpcError } from './grpc-status.ts';
import { callSignal } from './server-stream.ts';

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, callback: sendUnaryData<unknown>) => void;

/**
 * Wraps an async handler so every failure becomes one gRPC status through grpcError, and logs the
 * call with a request id (the client's `x-request-id` metadata, or a new one).
 */
function unary<Req>(ctx: ServerContext, method: string, handler: (req: Req, call: ServerUnaryCall<Req, unknown>) => Promise<unknown> | unknown): Unary<Req> {
  return (call, callback) => {
    const reqId = String(call.metadata.get('x-request-id')[0] ?? randomUUID());
    const started = performance.now();
    const done = (code: number) =>
      ctx.log[code === 0 ? 'debug' : 'info']({ reqId, method: `grpc ${method}`, code, ms: Math.round((performance.now() - started) * 100) / 100 }, 'grpc request');
    Promise.resolve()
      .then(() => handler(call.request, call))
      .then(
        (res) => {
          done(0);
          callback(null, res);
        },
        (err: unknown) => {
          const status = grpcError(err, ctx.log);
          done(status.code ?? 2);
          callback(status);
        },
      );
  };
}

/** Most requests a ModelStreamInfer stream may have in flight before reading pauses. */
const STREAM_WINDOW = 32;
/**
 * Most response bytes a stream may have written that its client has not taken, in messages of
 * --max-body-bytes: past it, reading pauses until the client reads (32 unread responses of up to
 * 16 MiB each were half a gigabyte per stream).
 */
const STREAM_UNREAD_MESSAGES = 2;

/** The bytes of a ModelStreamInfer response message: its raw output tensors. */
const responseBytes = (msg: { infer_response: object }) =>
  ((msg.infer_response as { raw_output_contents?: Uint8Array[] }).raw_output_contents ?? []).reduce((n, b) => n + b.byteLength, 0);

export function kserveService(ctx: ServerContext): UntypedServiceImplementation {
  const { repository } = ctx;
  const runInfer = async (req: GrpcInferRequest, signal: AbortSignal) =>
    encodeGrpcInfer(await runKServeInfer(ctx, kserveTarget(repository, req.model_name, req.model_version || undefined), decodeGrpcInfer(req), signal));
  /**
   * One infer's work stops when `call` (the client) cancels or its deadline passes, or past the
   * server's --request-timeout as REST's infer does; `run` gets the signal.
   */
  const withinLimits = async <T>(call: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const seconds = ctx.config.limits.requestTimeoutSeconds;
    if (seconds <= 0) return run(call);
    // one signal that the call and the timer both abort (AbortSignal.any costs tens of microseconds a call in Node 20)
    const limit = new AbortController();
    const cancelled = () => limit.abort(call.reason);
    if (call.aborted) cancelled();
    else call.addEventListener('abort', cancelled, { once: true });
    const timer = setTimeout(() => limit.abort(new SeqserveError('deadline_exceeded', `the request took longer than the server's limit of ${seconds} s`)), seconds * 1000);
    try {
      return await run(limit.signal);
    } finally {
      clearTimeout(timer);
      call.removeEventListener('abort', cancelled);
    }
  };
  return {
    ServerLive: unary(ctx, 'ServerLive', () => ({ live: true })),
    ServerReady: unary(ctx, 'ServerReady', () => ({ ready: ctx.ready() })),
    ModelReady: unary(ctx, 'ModelReady', (req: { name: string; version: string }) => {
      try {
        kserveTarget(repository, req.name, req.version || undefined);
        return { ready: true };
      } catch (err) {
        if (err instanceof SeqserveError && err.code === 'unavailable') return { ready: false };
        throw err;
      }
    }),
    ServerMetadata: unary(ctx, 'ServerMetadata', () => {
      const { name, version, extensions } = serverMetadata(ctx); // the message has no field for the providers
      return { name, version, extensions };
    }),
    ModelMetadata: unary(ctx, 'ModelMetadata', (req: { name: string; version: string }) => kserveMetadata(repository, req.name, req.version || undefined)),
    ModelInfer: unary(ctx, 'ModelInfer', (req: GrpcInferRequest, call) => withinLimits(callSignal(call), (signal) => runInfer(req, signal))),
    ModelStreamInfer: (call: ServerDuplexStream<GrpcInferRequest, unknown>) => {
      const streamSignal = callSignal(call); // a cancelled stream stops the work of its requests in flight
      // each request in flight listens to it (withinLimits): up to STREAM_WINDOW, more than Node's default of 10
      setMaxListeners(STREAM_WINDOW + 4, streamSignal);
      let inflight = 0;
      let unreadBytes = 0;
      const maxUnreadBytes = STREAM_UNREAD_MESSAGES * ctx.config.limits.maxBodyBytes;
      let ended = false;
      const finishIfDone = () => {
        if (ended && inflight === 0) call.end();
      };
      const full = () => inflight >= STREAM_WINDOW || unreadBytes >= maxUnreadBytes;
      call.on('data', (req: GrpcInferRequest) => {
        inflight++;
        if (full()) call.pause();
        withinLimits(streamSignal, (signal) => runInfer(req, signal))
          .then(
            (res) => ({ error_message: '', infer_response: res }),
            (err: unknown) => ({ error_message: asSeqserveError(err).message, infer_response: { model_name: req.model_name, id: req.id } }),
          )
          .then((msg) => {
            if (call.cancelled || call.destroyed) return;
            // Resume reading only when the client has taken the response (backpressure).
            const bytes = responseBytes(msg);
            unreadBytes += bytes;
            if (full()) call.pause();
            call.write(msg, () => {
              inflight--;
              unreadBytes -= bytes;
              if (!full()) call.resume();
              finishIfDone();
            });
          })
          .catch((err: unknown) => ctx.log.error({ err }, 'ModelStreamInfer write failed'));
      });
      call.on('end', () => {
        ended = true;
        finishIfDone();
      });
      call.on('error', (err) => ctx.log.debug({ err }, 'ModelStreamInfer stream error'));
    },
  };
}
