// Per-project settings as last read from the store, shared by the replicas:
// each re-reads a project's calibration stamp after `refreshMs`, so a refit
// by another replica is used within seconds, and one read per project runs
// at a time.
import type { Logger } from '../logging.js';
import type { CalibrationRecord, LearningStore } from './store.js';

/** A project's settings as last read, with the calibration's fittedAt they came from. */
interface CachedSettings<T> {
  settings: T | null;
  stamp: number | undefined;
  checkedAt: number;
}

/** Projects whose settings are cached (the least recently read go first). */
const CACHE_PROJECTS = 1000;

export interface SettingsCacheOptions<T> {
  store: LearningStore;
  log: Logger;
  now: () => number;
  refreshMs: number;
  /** The settings a calibration gives, or null for the defaults. */
  settingsOf: (cal: CalibrationRecord) => T | null;
}

export class SettingsCache<T> {
  private readonly cache = new Map<string, CachedSettings<T>>();
  private readonly loading = new Map<string, Promise<T | undefined>>();

  constructor(private readonly opts: SettingsCacheOptions<T>) {}

  /** The project's settings, or undefined for the defaults. */
  get(projectId: string): Promise<T | undefined> {
    const hit = this.cache.get(projectId);
    if (hit && this.opts.now() - hit.checkedAt < this.opts.refreshMs) return Promise.resolve(hit.settings ?? undefined);
    let loading = this.loading.get(projectId);
    if (!loading) {
      loading = this.reload(projectId, hit).finally(() => this.loading.delete(projectId));
      this.loading.set(projectId, loading);
    }
    return loading;
  }

  /** Read the project again on its next use (after a fit here). */
  forget(projectId: string): void {
    this.cache.delete(projectId);
  }

  private async reload(projectId: string, hit: CachedSettings<T> | undefined): Promise<T | undefined> {
    const { store } = this.opts;
    try {
      let stamp = await store.calibrationStamp(projectId);
      let settings: T | null = hit?.settings ?? null;
      if (!hit || stamp !== hit.stamp) {
        const cal = stamp === undefined ? undefined : await store.getCalibration(projectId);
        settings = cal ? this.opts.settingsOf(cal) : null;
        stamp = cal?.fittedAt;
      }
      this.cache.delete(projectId);
      this.cache.set(projectId, { settings, stamp, checkedAt: this.opts.now() });
      if (this.cache.size > CACHE_PROJECTS) this.cache.delete(this.cache.keys().next().value!);
      return settings ?? undefined;
    } catch (err) {
      // the store is unreachable: keep predicting with what we had
      this.opts.log.warn(`learning: reading the calibration failed, using the last one read: ${(err as Error).message}`, { project: projectId });
      return hit?.settings ?? undefined;
    }
  }
}
