// SSRF guard: address classes, the policy switches, the DNS lookup hook, and
// the image source refusing forbidden hosts directly and through redirects.
import dns from 'node:dns';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { checkUrlHost, classifyAddress, guardedLookup, refusal, type HostPolicy } from '../../backend/media/host-guard.js';
import { createImageSource, imageSourceFromConfig } from '../../backend/media/image-source.js';
import { testConfig } from '../http/helpers.js';
import { loopbackServer, redirectTo, serve, type Loopback } from './fixtures.js';

const DEFAULT: HostPolicy = { allowPrivate: true, allowLinkLocal: false };
const STRICT: HostPolicy = { allowPrivate: false, allowLinkLocal: false };
const OPEN: HostPolicy = { allowPrivate: true, allowLinkLocal: true };

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.1.1', 'link_local'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['febf:ffff::1', 'link_local'],
    ['fec0::1', 'public'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['ff02::1', 'reserved'],
    ['not-an-ip', 'reserved'],
    // IPv6 forms carrying an IPv4 address are judged by it
    ['::a9fe:a9fe', 'metadata'], // IPv4-compatible
    ['::169.254.169.254', 'metadata'],
    ['::10.0.0.1', 'private'],
    ['::ffff:0:a9fe:a9fe', 'metadata'], // SIIT
    ['2002:a9fe:a9fe::', 'metadata'], // 6to4
    ['2002:a9fe:0101::1', 'link_local'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:0808:0808::1', 'public'],
    ['2001:0:4136:e378:8000:63bf:5601:5601', 'metadata'], // Teredo, client 169.254.169.254 inverted
    ['2001:0:a9fe:a9fe::f7f7:f7f7', 'metadata'], // Teredo server address
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'public'],
    ['2001:db8::1', 'public'],
  ])('%s is %s', (a, cls) => expect(classifyAddress(a)).toBe(cls));
});

describe('policy', () => {
  it('link-local and metadata are refused unless ALLOW_LINK_LOCAL; private unless ALLOW_PRIVATE_IMAGE_HOSTS=false', () => {
    expect(refusal('metadata', DEFAULT)).toMatch(/ALLOW_LINK_LOCAL=true/);
    expect(refusal('link_local', DEFAULT)).toMatch(/link-local/);
    expect(refusal('private', DEFAULT)).toBeUndefined();
    expect(refusal('loopback', DEFAULT)).toBeUndefined();
    expect(refusal('private', STRICT)).toMatch(/ALLOW_PRIVATE_IMAGE_HOSTS=true/);
    expect(refusal('metadata', OPEN)).toBeUndefined();
    expect(refusal('reserved', OPEN)).toMatch(/reserved/);
    expect(refusal('public', STRICT)).toBeUndefined();
  });

  it('checkUrlHost catches IP literals (all spellings) and metadata names before any connection', () => {
    for (const u of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[fe80::1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://METADATA.GOOGLE.INTERNAL./x',
      'http://0xa9fea9fe/', // WHATWG URL parsing turns these into 169.254.169.254
      'http://2852039166/',
      'http://169.254.43518/',
    ]) {
      expect(() => checkUrlHost(u, DEFAULT), u).toThrow(/Image host .* is a (cloud metadata|link-local) address/);
    }
    expect(() => checkUrlHost('http://localhost:8080/x.png', STRICT)).toThrow(/loopback/);
    expect(() => checkUrlHost('http://10.0.0.5/x.png', STRICT)).toThrow(/private-network/);
    expect(() => checkUrlHost('http://localhost:8080/x.png', DEFAULT)).not.toThrow();
    expect(() => checkUrlHost('https://images.example.com/x.png', STRICT)).not.toThrow();
  });

  it('the DNS hook refuses a name when any of its addresses is forbidden', async () => {
    const fake = ((_h: string, _o: unknown, cb: (e: null, a: dns.LookupAddress[]) => void) =>
      cb(null, [
        { address: '93.184.216.34', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ])) as unknown as typeof dns.lookup;
    const look = guardedLookup(DEFAULT, fake);
    const err = await new Promise<Error | null>((r) => look('rebind.example', { all: true }, (e) => r(e)));
    expect(err?.message).toMatch(/rebind\.example is a cloud metadata address .*resolves to 169\.254\.169\.254/);
    const ok = guardedLookup(OPEN, fake);
    const addrs = await new Promise<unknown>((r) => ok('rebind.example', { all: true }, (_e, a) => r(a)));
    expect(addrs).toHaveLength(2);
    const single = await new Promise<unknown[]>((r) => ok('rebind.example', {}, (_e, a, f) => r([a, f])));
    expect(single).toEqual(['93.184.216.34', 4]);
  });
});

describe('image source with the guard', () => {
  let host: Loopback;
  let png: Buffer;
  beforeAll(async () => {
    png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } }).png().toBuffer();
    host = await loopbackServer({
      '/x.png': serve(png, 'image/png'),
      '/to-metadata': redirectTo('http://169.254.169.254/'),
      '/to-6to4': redirectTo('http://[2002:a9fe:a9fe::]/'),
      '/to-file': redirectTo('file:///etc/passwd'),
      '/to-ftp': redirectTo('ftp://example.com/x.png'),
    });
  });
  afterAll(() => host?.close());

  it('default policy: loopback is fine (Label Studio next door), metadata is not', async () => {
    const src = imageSourceFromConfig(testConfig(), { retries: 0 });
    expect(await src.fetch(`${host.url}/x.png`)).toEqual(png);
    await expect(src.fetch(`${host.url}/to-metadata`)).rejects.toMatchObject({ code: 'forbidden_host' });
    await expect(src.fetch('http://169.254.169.254/latest/meta-data/')).rejects.toMatchObject({ code: 'forbidden_host' });
  });

  it('ALLOW_PRIVATE_IMAGE_HOSTS=false refuses loopback literals, names and names that resolve to loopback', async () => {
    const src = imageSourceFromConfig(testConfig({ ALLOW_PRIVATE_IMAGE_HOSTS: 'false' }), { retries: 0 });
    await expect(src.fetch(`${host.url}/x.png`)).rejects.toMatchObject({ code: 'forbidden_host' });
    await expect(src.fetch(`${host.url.replace('127.0.0.1', 'localhost')}/x.png`)).rejects.toMatchObject({ code: 'forbidden_host' });
    const name = os.hostname();
    const resolved = await dns.promises.lookup(name).catch(() => undefined);
    if (resolved && classifyAddress(resolved.address) === 'loopback') {
      const port = new URL(host.url).port;
      // the name is not special: only the DNS hook can catch it
      await expect(src.fetch(`http://${name}:${port}/x.png`)).rejects.toMatchObject({
        code: 'forbidden_host',
        message: expect.stringMatching(/resolves to 127\./),
      });
    }
  });

  it("Label Studio's own host is exempt (the operator chose it), also when private hosts are refused", async () => {
    const src = createImageSource({ labelStudioUrl: host.url, maxBytes: 1e6, timeoutMs: 1000, retries: 0, hostPolicy: STRICT });
    expect(await src.fetch('/x.png')).toEqual(png);
    // but a redirect from Label Studio to a forbidden host is still refused
    await expect(src.fetch('/to-metadata')).rejects.toMatchObject({ code: 'forbidden_host' });
  });

  it('embedded-IPv4 forms of the metadata address are refused as literals and as redirects', async () => {
    const src = imageSourceFromConfig(testConfig(), { retries: 0 });
    for (const u of ['http://[::a9fe:a9fe]/', 'http://[2002:a9fe:a9fe::]/', 'http://[2001:0:4136:e378:8000:63bf:5601:5601]/']) {
      await expect(src.fetch(u), u).rejects.toMatchObject({ code: 'forbidden_host' });
    }
    await expect(src.fetch(`${host.url}/to-6to4`)).rejects.toMatchObject({ code: 'forbidden_host' });
  });

  it('a redirect to file:// or ftp:// fails once, clearly, with no retry', async () => {
    let sleeps = 0;
    const src = imageSourceFromConfig(testConfig(), { retries: 2, sleep: async () => void sleeps++ });
    for (const [path, scheme] of [['/to-file', 'file:'], ['/to-ftp', 'ftp:']]) {
      const t0 = performance.now();
      const err = await src.fetch(`${host.url}${path}`).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'forbidden_host' });
      expect((err as Error).message).toContain(`redirected to a ${scheme} URL; only http(s) redirects are followed`);
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    expect(sleeps).toBe(0);
  });
});
