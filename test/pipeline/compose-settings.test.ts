// The composition root turns ALWAYS_TILE into the engine setting, and a request
// or CLI setting still wins over it; the setting is part of model_version.
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../backend/compose.js';
import { testConfig } from '../http/helpers.js';

describe('ALWAYS_TILE', () => {
  it('sets alwaysTile on the engine, changes model_version, and an explicit setting wins', async () => {
    const plain = await buildEngine({ config: testConfig() });
    const always = await buildEngine({ config: testConfig({ ALWAYS_TILE: '1' }) });
    const overridden = await buildEngine({ config: testConfig({ ALWAYS_TILE: '1' }), settings: { alwaysTile: false } });
    try {
      expect(plain.settings.alwaysTile).toBe(false);
      expect(always.settings.alwaysTile).toBe(true);
      expect(overridden.settings.alwaysTile).toBe(false);
      expect(always.modelVersion).not.toBe(plain.modelVersion);
      expect(overridden.modelVersion).toBe(plain.modelVersion);
    } finally {
      await Promise.all([plain.close(), always.close(), overridden.close()]);
    }
  });
});
