import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger, redact, redactText } from '../../backend/logging.js';
import { createMetrics } from '../../backend/metrics.js';

function capture(format: 'json' | 'text') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ logLevel: 'debug', logFormat: format }, { transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines };
}

describe('logging', () => {
  it('JSON lines with the request id of a child logger', () => {
    const { logger, lines } = capture('json');
    logger.child({ requestId: 'r-1' }).info('hello', { taskId: 3 });
    const rec = JSON.parse(lines[0]);
    expect(rec).toMatchObject({ level: 'info', message: 'hello', requestId: 'r-1', taskId: 3 });
    expect(rec.timestamp).toBeTruthy();
  });

  it('never logs secrets', () => {
    const { logger, lines } = capture('json');
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJlc2ln';
    logger.info('request', {
      headers: { Authorization: 'Token abcdef123456', 'x-other': 'fine' },
      access_token: 'secret-token',
      password: 'hunter2',
      nested: { apiKey: 'k-123', note: `Bearer ${jwt}` },
    });
    logger.warn(`download failed for https://b.s3.amazonaws.com/a.jpg?X-Amz-Signature=deadbeef&x=1 with Token abcdef123456 and ${jwt}`);
    const all = lines.join('\n');
    for (const secret of ['abcdef123456', 'secret-token', 'hunter2', 'k-123', jwt, 'deadbeef']) expect(all).not.toContain(secret);
    expect(all).toContain('fine');
    expect(all).toContain('[redacted]');
  });

  it('text format is one readable line', () => {
    const { logger, lines } = capture('text');
    logger.child({ requestId: 'r-2' }).warn('task failed', { reason: 'not_found' });
    expect(lines[0]).toMatch(/^\S+ warn: task failed \{"requestId":"r-2","reason":"not_found"\}/);
  });

  it('text format: a line break in the message cannot start a fake log line', () => {
    const { logger, lines } = capture('text');
    logger.info('task t1\n2026-12-01T10:00:00.000Z error: INJECTED\r\u2028x: 1 face');
    const out = lines.join('');
    expect(out.split('\n').filter(Boolean)).toHaveLength(1);
    expect(out).toContain('task t1\\u000a2026-12-01T10:00:00.000Z error: INJECTED\\u000d\\u2028x: 1 face');
  });

  it('redact helpers', () => {
    expect(redactText('http://user:pw@host/x')).toBe('http://[redacted]@host/x');
    expect(redact({ token: 'x', list: [{ password: 'y' }], n: 1 })).toEqual({ token: '[redacted]', list: [{ password: '[redacted]' }], n: 1 });
  });
});

describe('metrics', () => {
  it('separate registries per app, stage histograms and error counters', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.observeTimings({ detector: 12, segmenter: 30, bogus: NaN });
    a.taskErrors.inc({ reason: 'not_found' });
    a.modelsLoaded.set({ kind: 'detector' }, 1);
    const text = await a.render();
    expect(text).toMatch(/faceseg_stage_duration_seconds_count\{stage="detector"\} 1/);
    expect(text).not.toMatch(/stage="bogus"/);
    expect(text).toMatch(/faceseg_task_errors_total\{reason="not_found"\} 1/);
    expect(text).toMatch(/faceseg_models_loaded\{kind="detector"\} 1/);
    expect(text).toMatch(/faceseg_process_cpu_seconds_total/);
    expect(await b.render()).not.toMatch(/reason="not_found"/);
  });
});
