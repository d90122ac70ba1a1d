import { Hono } from 'hono';
import { z } from 'zod';
import { invalidArgument } from '../../../core/errors.ts';
import type { ServerContext } from '../../../context.ts';
import { collectCall, onlyEvent, openCall } from '../../../service/task-call.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import { resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import { readJson } from '../../../http/read-json.ts';

/** The `POST /v1/slots` body; `text` is bounded by the server's `maxTextChars` limit. */
export function SlotsRequest(maxTextChars: number) {
  return z.object({
    text: z.string({ error: 'must be a string' }).max(maxTextChars, `must be at most ${maxTextChars} characters`),
    model: z.string().min(1).optional(),
  });
}

/** `POST /v1/slots`: slot filling with character offsets. */
export function slotRoutes(ctx: ServerContext): Hono {
  const Body = SlotsRequest(ctx.config.limits.maxTextChars);
  const app = new Hono();
  app.post('/v1/slots', async (c) => {
    const body = await readJson(c, Body, ctx.config.limits.maxBodyBytes);
    if (!body.text.trim()) throw invalidArgument('text', 'must not be empty');
    const model = resolveTaskModel(ctx.repository, 'slot-filling', body.model);
    const call = openCall(ctx, { model: model.name, endpoint: 'slots', kind: 'request', signal: requestSignal(c) }, (signal) => runTask(model, { text: body.text }, signal));
    const result = await collectCall(call, onlyEvent);
    return c.json({ model: model.name, ...result });
  });
  return app;
}
