// `faceseg eval` and `eval --learn` without their data: a DataMissingError,
// which the CLI maps to exit 3 (could not start), as `eval --fit-prior` does.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETUP_ERRORS } from '../../backend/cli/usage.js';
import { runLearnSim } from '../../backend/eval/learn-sim.js';
import { runEval } from '../../backend/eval/run-eval.js';
import { SquareFaceEngine } from '../http/helpers.js';

describe('eval without its data', () => {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'faceseg-nodata-'));

  it('runEval on a missing folder throws DataMissingError', async () => {
    const err = await runEval(new SquareFaceEngine(), path.join(empty, 'nope'), {}).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'DataMissingError', message: expect.stringMatching(/Evaluation data not found/) });
    expect(SETUP_ERRORS).toContain((err as Error).name);
  });

  it('runLearnSim on a folder without fasseg/ throws DataMissingError', async () => {
    const err = await runLearnSim(new SquareFaceEngine(), empty, { k: 2, convention: 'face', splits: ['random'], seed: 1, prior: null }).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'DataMissingError', message: expect.stringMatching(/FASSEG not found/) });
  });
});
