// ReDoS in log redaction: every log field passes through the SECRET_TEXT
// patterns, and some fields (project ids, URLs, error messages) come from
// anonymous requests. Each pattern must stay linear on inputs built to make
// a backtracking engine go quadratic, and long strings are cut first.
import { describe, expect, it } from 'vitest';
import { MAX_LOG_STRING, redact, redactText, SECRET_TEXT } from '../../backend/logging.js';

const N = 200_000;
const hostile: Record<string, string> = {
  'run of letters': 'a'.repeat(N),
  'letters then ://': `${'a'.repeat(N)}://`,
  'scheme runs': 'a.'.repeat(N / 2),
  'many schemes': 'a://b:'.repeat(N / 6),
  'user without @': `http://${'u'.repeat(N)}:${'p'.repeat(N)}`,
  'jwt-like runs': 'eyJ-'.repeat(N / 4),
  'jwt without second part': `eyJ${'a'.repeat(N)}`,
  'Bearer spam': 'Bearer '.repeat(N / 7),
  'query spam': '?token='.repeat(N / 7),
  whitespace: `Token${' '.repeat(N)}`,
};

describe('log redaction on hostile strings', () => {
  for (const [name, s] of Object.entries(hostile)) {
    it(`each pattern is linear: ${name} (${s.length} chars, < 150 ms)`, () => {
      for (const [re, rep] of SECRET_TEXT) {
        const t0 = performance.now();
        s.replace(re, rep);
        expect(performance.now() - t0, String(re)).toBeLessThan(150);
      }
    });
  }

  it('redactText cuts a 4 MB field to MAX_LOG_STRING before matching (< 50 ms)', () => {
    const s = 'a'.repeat(4 * 1024 ** 2);
    const t0 = performance.now();
    const out = redactText(s);
    expect(performance.now() - t0).toBeLessThan(50);
    expect(out.length).toBeLessThan(MAX_LOG_STRING + 64);
    expect(out).toContain(`${s.length - MAX_LOG_STRING} more chars`);
  });

  it('redact bounds arrays and objects with many entries', () => {
    const big = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
    const out = redact({ big, list: Array.from({ length: 10_000 }, (_, i) => i) }) as { big: object; list: unknown[] };
    expect(Object.keys(out.big).length).toBeLessThanOrEqual(101);
    expect(out.list.length).toBeLessThanOrEqual(101);
  });

  it('still redacts what it should', () => {
    expect(redactText('http://user:pw@host/x')).toBe('http://[redacted]@host/x');
    expect(redactText('s3+https://AKIA:secret@bucket')).toBe('s3+https://[redacted]@bucket');
    expect(redactText('auth Token abcdef123456 ok')).toBe('auth Token [redacted] ok');
    expect(redactText('x eyJhbGciOi.eyJzdWIiOiIx.sig y')).toBe('x [redacted-jwt] y');
    expect(redactText('jwt cut short: eyJhbGciOi.eyJzdW')).toBe('jwt cut short: [redacted-jwt]');
    expect(redactText('https://b.s3.amazonaws.com/k?X-Amz-Signature=abc&x=1')).toBe('https://b.s3.amazonaws.com/k?X-Amz-Signature=[redacted]&x=1');
  });
});
