// Hostile label configs: DTDs (SYSTEM and parameter entities, entity
// expansion), deep nesting, huge attribute counts, oversized XML. Each is a
// LabelConfigError (a 400 in the app) within a time bound, never another
// exception (a 500).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LabelConfigCache, LabelConfigError, MAX_LABEL_CONFIG_CHARS, parseLabelConfig } from '../../backend/labelstudio/label-config.js';

const IMG = '<Image name="image" value="$image"/><BrushLabels name="f" toName="image"><Label value="Face"/></BrushLabels>';

const HOSTILE_XML: Record<string, string> = {
  'SYSTEM entity': `<!DOCTYPE View [<!ENTITY x SYSTEM "file:///etc/passwd">]><View>${IMG}<Header value="&x;"/></View>`,
  'parameter entity': `<!DOCTYPE View [<!ENTITY % p SYSTEM "http://169.254.169.254/"> %p;]><View>${IMG}</View>`,
  'billion laughs': `<!DOCTYPE View [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><View>${IMG}<Header value="&c;&c;"/></View>`,
  'doctype in lower case': `<!doctype View><View>${IMG}</View>`,
  '20000 nested tags': `<View>${IMG}${'<View>'.repeat(20000)}${'</View>'.repeat(20000)}</View>`,
  '20000 nested unclosed tags': `<View>${IMG}${'<View>'.repeat(20000)}`,
  '30000 attributes': `<View>${IMG}<Header ${Array.from({ length: 30000 }, (_, i) => `a${i}="1"`).join(' ')}/></View>`,
  'duplicate attributes': `<View>${IMG}<Header value="1" value="2"/></View>`,
  'over the size cap': `<View>${IMG}${'<Header value="x"/>'.repeat(20000)}</View>`,
  'unterminated comment': `<View>${IMG}<!-- ${'x'.repeat(1000)}`,
  'unterminated CDATA': `<View>${IMG}<![CDATA[ ${'x'.repeat(1000)}`,
};

describe('hostile label configs', () => {
  for (const [name, xml] of Object.entries(HOSTILE_XML)) {
    it(`${name} (${xml.length} chars): LabelConfigError in < 500 ms`, () => {
      const t0 = performance.now();
      let err: unknown;
      try {
        parseLabelConfig(xml);
      } catch (e) {
        err = e;
      }
      expect(performance.now() - t0).toBeLessThan(500);
      expect(err).toBeInstanceOf(LabelConfigError);
    });
  }

  it('the size cap has a clear message', () => {
    expect(() => parseLabelConfig(HOSTILE_XML['over the size cap'])).toThrow(new RegExp(`limit is ${MAX_LABEL_CONFIG_CHARS}`));
  });

  it('legit configs with ">" in attributes, comments and CDATA still parse', () => {
    const xml = `<View><!-- a <b> comment --><Header value="score > 5 &amp; more"/><![CDATA[ <x> ]]>${IMG}</View>`;
    expect(parseLabelConfig(xml).brush.label).toBe('Face');
    const deep = `<View>${'<View>'.repeat(50)}${IMG}${'</View>'.repeat(50)}</View>`;
    expect(parseLabelConfig(deep).image.name).toBe('image');
    const t0 = performance.now();
    expect(parseLabelConfig(`<?xml version="1.0"?>${'<?x y?>'.repeat(10000)}<View>${IMG}</View>`).brush.label).toBe('Face');
    // about 100 ms on an idle core; the bound leaves room for a loaded CI machine
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('random text around a valid config: only LabelConfigError (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), (a, b) => {
        try {
          parseLabelConfig(`${a}<View>${IMG}${b}</View>`);
        } catch (err) {
          expect(err).toBeInstanceOf(LabelConfigError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the cache is keyed by a hash and bounded in entries', () => {
    const cache = new LabelConfigCache({}, 8);
    for (let i = 0; i < 50; i++) cache.get(`<View>${IMG}<Header value="${i}"/></View>`);
    expect(cache.entries).toBe(8);
    expect(() => cache.get(HOSTILE_XML['over the size cap'])).toThrow(LabelConfigError);
    expect(cache.entries).toBe(8);
  });
});
