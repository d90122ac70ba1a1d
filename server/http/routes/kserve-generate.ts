/**
 * Triton's generate extension: `POST /v2/models/{m}[/versions/{v}]/generate` answers one JSON
 * object `{model_name, model_version, text_output}` for `{text_input, parameters}`;
 * `generate_stream` sends one such object per generated piece as server-sent events. The model's
 * task supplies the work (its endpoints' `generate`: chat maps `text_input` to a user message and
 * the parameters to its decoding parameters); admission, metrics and cancellation are the call
 * service's, the stream the one SSE adapter's.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { ServerContext } from '../../context.ts';
import { invalidArgument, notFound } from '../../core/errors.ts';
import { openCall } from '../../service/task-call.ts';
import { TASK_ENDPOINTS } from '../../service/task-endpoint-list.ts';
import { readJson } from '../read-json.ts';
import { requestSignal } from '../request-signal.ts';
import { sseResponse } from '../sse.ts';

export const GenerateRequest = z.strictObject({
  id: z.string().optional(),
  text_input: z.string({ error: 'must be a string' }),
  parameters: z.record(z.string(), z.unknown()).optional(),
});

export function kserveGenerateRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  const handler = (stream: boolean) => async (c: Context) => {
    const body = await readJson(c, GenerateRequest, ctx.config.limits.maxBodyBytes);
    const loaded = ctx.repository.model(c.req.param('model')!, c.req.param('version'));
    const generate = TASK_ENDPOINTS.find((e) => e.task === loaded.task)?.endpoints.generate;
    if (!generate) {
      const tasks = TASK_ENDPOINTS.filter((e) => e.endpoints.generate).map((e) => e.task);
      throw notFound(`model "${loaded.name}" is a ${loaded.task} model; the generate extension serves ${tasks.join(', ')} models`, 'model');
    }
    if (!body.text_input.trim()) throw invalidArgument('text_input', 'must not be empty');
    const work = await generate(ctx, loaded, body.text_input, body.parameters ?? {});
    const call = openCall(ctx, { model: loaded.name, endpoint: stream ? 'generate_stream' : 'generate', kind: stream ? 'stream' : 'request', signal: requestSignal(c) }, work);
    const head = { ...(body.id !== undefined ? { id: body.id } : {}), model_name: loaded.name, model_version: loaded.version };
    if (stream) {
      async function* events(): AsyncGenerator<string> {
        for await (const delta of call) yield JSON.stringify({ ...head, text_output: delta });
      }
      await call.started(); // refused once the work starts (a full waiting list): a status, not an error event after a 200
      return sseResponse(c, events(), { log: ctx.log, streams: ctx.openStreams, close: () => call.return() });
    }
    let text = '';
    try {
      for await (const delta of call) text += delta;
    } finally {
      await call.return();
    }
    return c.json({ ...head, text_output: text });
  };
  for (const prefix of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    app.post(`${prefix}/generate`, handler(false));
    app.post(`${prefix}/generate_stream`, handler(true));
  }
  return app;
}
