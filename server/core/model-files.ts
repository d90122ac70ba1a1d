import { SeqserveError } from './errors.ts';

/** Reads a file of a model folder by its manifest-relative name (fs on the server, fetch in the browser). */
export type ReadModelFile = (file: string) => Promise<Uint8Array>;

const decoder = new TextDecoder();

export async function readJsonFile(read: ReadModelFile, file: string): Promise<unknown> {
  const bytes = await read(file);
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw new SeqserveError('failed_precondition', `${file}: not valid JSON (${(err as Error).message})`, { field: file });
  }
}
