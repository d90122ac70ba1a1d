/**
 * The request parameters a model-level KServe interface takes, checked by a zod shape: unknown
 * names and wrong values are refused naming `parameters.<name>`. KServe's own parameters
 * (`binary_data_output`, the sequence batcher's) are not the task's and are left out first.
 */
import { z } from 'zod';
import { invalidArgument } from '../core/errors.ts';
import { taskParameters } from './infer.ts';

export function parseTaskParameters<S extends z.ZodRawShape>(parameters: Record<string, unknown>, shape: S): z.infer<z.ZodObject<S>> {
  const parsed = z.strictObject(shape).safeParse(taskParameters(parameters) ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(shape);
    throw invalidArgument(`parameters.${issue.keys[0]}`, `is not a parameter of this model (parameters: ${known.length ? known.join(', ') : 'none'})`);
  }
  throw invalidArgument(`parameters.${issue.path.join('.')}`, issue.message);
}
