import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../config.ts';
import { cudaProviderMissing, DEFAULT_RUNTIME_OPTIONS, SessionFactory } from './session-factory.ts';

const log = pino({ level: 'silent' });

describe('SessionFactory', () => {
  it('passes threads and the optimisation level to ONNX Runtime; more than one inter-op thread runs in parallel mode', () => {
    const sequential = new SessionFactory({ ...DEFAULT_RUNTIME_OPTIONS, providers: ['cpu'] }, log).sessionOptions('cpu');
    expect(sequential).toMatchObject({ executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    const parallel = new SessionFactory(
      { ...DEFAULT_RUNTIME_OPTIONS, providers: ['cpu'], intraOpThreads: 2, interOpThreads: 2, graphOptimizationLevel: 'disabled' },
      log,
    ).sessionOptions('cpu');
    expect(parallel).toMatchObject({ intraOpNumThreads: 2, interOpNumThreads: 2, executionMode: 'parallel', graphOptimizationLevel: 'disabled' });
  });

  it('creates sessions at every optimisation level, with inter-op threads', async () => {
    const file = path.join(BUNDLED_MODELS_DIR, 'caption', 'encoder.onnx');
    for (const graphOptimizationLevel of ['disabled', 'basic', 'extended', 'all'] as const) {
      const factory = new SessionFactory({ ...DEFAULT_RUNTIME_OPTIONS, providers: ['cpu'], interOpThreads: 2, graphOptimizationLevel }, log);
      const { session, provider } = await factory.create(file);
      expect(provider).toBe('cpu');
      expect(session.inputNames.length).toBeGreaterThan(0);
      await session.release();
    }
  });

  it('reports a provider it cannot load, with the reason', () => {
    const factory = new SessionFactory({ ...DEFAULT_RUNTIME_OPTIONS, providers: ['cuda', 'cpu'] }, log);
    const missing = cudaProviderMissing();
    expect(factory.unavailableProviders()).toEqual(missing ? { cuda: missing } : {});
    expect(new SessionFactory({ ...DEFAULT_RUNTIME_OPTIONS, providers: ['cpu'] }, log).unavailableProviders()).toEqual({});
  });
});
