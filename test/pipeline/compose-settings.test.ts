// The composition root turns ALWAYS_TILE and BEARD into engine settings, and a
// request or CLI setting still wins over them; each is part of model_version.
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../backend/compose.js';
import { settingsFrom } from '../../backend/cli/engine-flags.js';
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

describe('BEARD', () => {
  it('BEARD=exclude sets the beard rule on the engine and changes model_version; the CLI flag wins over it', async () => {
    const plain = await buildEngine({ config: testConfig() });
    const bare = await buildEngine({ config: testConfig({ BEARD: 'exclude' }) });
    const flagged = await buildEngine({ config: testConfig({ BEARD: 'exclude' }), settings: settingsFrom({ beard: 'include' }) });
    try {
      expect(plain.settings.beard).toBe('include');
      expect(bare.settings.beard).toBe('exclude');
      expect(flagged.settings.beard).toBe('include');
      expect(bare.modelVersion).not.toBe(plain.modelVersion);
      expect(flagged.modelVersion).toBe(plain.modelVersion);
    } finally {
      await Promise.all([plain.close(), bare.close(), flagged.close()]);
    }
  });
});
