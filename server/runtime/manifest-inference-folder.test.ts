/** Which ONNX files of a folder without manifest.json auto-configuration serves, or why it cannot tell (planFolder reads names only). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planFolder } from './manifest-inference-folder.ts';

let dir: string;
const folder = (files: string[]): string => {
  dir = mkdtempSync(path.join(tmpdir(), 'seqserve-plan-'));
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), '');
  }
  return dir;
};
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('planFolder', () => {
  it('serves every ONNX file at the top, one graph each', async () => {
    expect(await planFolder(folder(['encoder.onnx', 'decoder_step.onnx', 'vocab.json']))).toEqual({
      plan: { files: ['decoder_step.onnx', 'encoder.onnx'], version: '1', notes: [] },
    });
  });

  it("serves Triton's latest version folder, noting the others and config.pbtxt", async () => {
    const planned = await planFolder(folder(['config.pbtxt', '1/model.onnx', '2/model.onnx', '10/model.onnx']));
    expect(planned).toMatchObject({ plan: { files: ['10/model.onnx'], version: '10' } });
    const notes = (planned as { plan: { notes: string[] } }).plan.notes.join('\n');
    expect(notes).toMatch(/Triton version folders 1, 2, 10: serving version 10, the latest/);
    expect(notes).toMatch(/config\.pbtxt is not read/);
  });

  it('says why when the files do not decide the model; nothing to say without ONNX files', async () => {
    expect(await planFolder(folder(['model.onnx', '1/model.onnx']))).toEqual({
      problem: 'the folder has ONNX files both at its top (model.onnx) and in Triton version folders (1/model.onnx), so which are the model is not clear',
    });
    rmSync(dir, { recursive: true });
    expect(await planFolder(folder(['onnx/model.onnx']))).toEqual({
      problem: 'the folder has onnx/model.onnx but no ONNX file at its top or in a Triton version folder (1/model.onnx), so which files are the model is not clear',
    });
    rmSync(dir, { recursive: true });
    expect(await planFolder(folder(['Model.onnx', 'model.onnx']))).toEqual({ problem: 'Model.onnx and model.onnx would both be graph "model"' });
    rmSync(dir, { recursive: true });
    expect(await planFolder(folder(['config.pbtxt', '1/model.pt']))).toBeUndefined();
  });

  it('notes ONNX files in other sub-folders that are not served', async () => {
    expect(await planFolder(folder(['model.onnx', 'old/model.onnx']))).toMatchObject({
      plan: { files: ['model.onnx'], notes: ['not served: old/model.onnx (only the top is)'] },
    });
  });
});
