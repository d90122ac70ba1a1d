/** The slot-filling task's endpoints: `POST /v1/slots` and its OpenAPI description. */
import { arrayOf, int, json, num, obj, ok, ref, str, WORK_ERRORS } from '../../../http/openapi/operation.ts';
import type { TaskEndpoints } from '../../../service/task-endpoints.ts';
import { slotFillingKServe } from './kserve.ts';
import { slotRoutes, SlotsRequest } from './http.ts';

export const endpoints: TaskEndpoints = {
  kserve: slotFillingKServe,
  http: slotRoutes,
  openapi: (limits) => ({
    operations: [
      {
        method: 'post',
        path: '/v1/slots',
        operationId: 'fillSlots',
        tag: 'Tasks',
        summary: 'Slot filling with character offsets',
        body: { required: true, content: json(ref('SlotsRequest')) },
        responses: { 200: ok('Tokens, BIO tags and slots', json(ref('SlotsResponse'))) },
        errors: WORK_ERRORS,
        badInput: ['text', 'must be a string'],
      },
    ],
    jsonBodies: [{ id: 'SlotsRequest', schema: SlotsRequest(limits.maxTextChars), notes: { model: 'a slot-filling model (default: the first ready one)' } }],
    schemas: {
      SlotsResponse: obj({
        model: str,
        tokens: arrayOf(str),
        tags: { ...arrayOf(str), description: 'BIO tags, one per token' },
        slots: arrayOf(
          obj({
            name: str,
            value: str,
            start: { ...int, description: 'character offset into text' },
            end: int,
            confidence: { ...num, description: "mean CRF marginal of the span's tags" },
          }),
        ),
      }),
    },
  }),
};
