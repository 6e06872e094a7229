/**
 * Tests of the URL normalizer (operators/lib/text/url.ts) and identifiers: a hand-written table,
 * RFC 3986 §6 / §5.4 examples, rejects, and the idempotence property (fast-check).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_TRACKING_PARAMS, removeDotSegments, urlCacheKey, urlNormalizer, type UrlOptions } from '../../operators/lib/text/url.js';
import { urlVariant } from '../../gen/urls.js';
import { mulberry32 } from '../../gen/prng.js';
import { idBytesAlreadyNormal, normalizeIdentifier, normalizeIdentifierFull } from '../../operators/lib/text/identifiers.js';

const base: UrlOptions = { stripParams: DEFAULT_TRACKING_PARAMS, foldWww: false, trailingSlash: 'keep', dropQuery: false, defaultScheme: 'http' };
const norm = urlNormalizer(base);
const ok = (s: string, opts: UrlOptions = base): string => {
  const r = urlNormalizer(opts)(s);
  assert.ok(r.ok, `${s} rejected: ${r.ok ? '' : r.reason}`);
  return r.url;
};

/** Every combination of normalizer options (fast-check), for the property tests. */
const normalizerOptions = fc.record({
  stripParams: fc.constant(DEFAULT_TRACKING_PARAMS), foldWww: fc.boolean(),
  trailingSlash: fc.constantFrom('keep' as const, 'strip' as const, 'add' as const),
  dropQuery: fc.boolean(), defaultScheme: fc.constantFrom('http' as const, 'https' as const, null),
});

describe('lib/url', () => {
  const table: Array<[string, string]> = [
    // RFC 3986 §6.2.2.1 case, §6.2.2.2 percent-encoding, §6.2.2.3 dot-segments, §6.2.3 scheme-based
    ['HTTP://www.Example.com/', 'http://www.example.com/'],
    ['http://example.com/%7Efoo', 'http://example.com/~foo'],
    ['http://example.com/a%2fb%3a', 'http://example.com/a%2Fb%3A'],
    ['http://example.com/a/b/c/./../../g', 'http://example.com/a/g'],
    ['http://example.com', 'http://example.com/'],
    ['http://example.com:/', 'http://example.com/'],
    ['http://example.com:80/', 'http://example.com/'],
    ['https://example.com:443/x', 'https://example.com/x'],
    ['https://example.com:80/x', 'https://example.com:80/x'],
    ['http://example.com:0080/x', 'http://example.com/x'],
    // userinfo, fragment, query sorting, tracking params
    ['http://user:pw@Example.com/p#frag', 'http://example.com/p'],
    ['http://a.com/p?b=2&a=1&utm_source=x&UTM_Medium=y&gclid=z&fbclid=q', 'http://a.com/p?a=1&b=2'],
    ['http://a.com/p?utm_source=x', 'http://a.com/p'],
    ['http://a.com/p?&&a=1&&', 'http://a.com/p?a=1'],
    ['http://a.com/p?a=2&a=1&a', 'http://a.com/p?a&a=1&a=2'],
    ['http://a.com/p?q=%7e%2b+x', 'http://a.com/p?q=~%2B+x'],
    // encoding of characters not allowed literally, stray %
    ['http://a.com/a b/é', 'http://a.com/a%20b/%C3%A9'],
    ['http://a.com/100%', 'http://a.com/100%25'],
    ['http://a.com/%zz', 'http://a.com/%25zz'],
    ['http://a.com/%2E%2E/x', 'http://a.com/x'],
    ['http://a.com\\b\\c', 'http://a.com/b/c'],
    // hosts
    ['http://EXAMPLE.com./x', 'http://example.com/x'],
    ['http://bücher.de/', 'http://xn--bcher-kva.de/'],
    ['http://[::1]:8080/', 'http://[::1]:8080/'],
    ['http://[2001:DB8::1]/', 'http://[2001:db8::1]/'],
    // scheme-less (the book's data), scheme-relative
    ['mysite.com/blog', 'http://mysite.com/blog'],
    ['foo.com:8080/about', 'http://foo.com:8080/about'],
    ['//foo.com/x', 'http://foo.com/x'],
  ];
  for (const [input, want] of table) it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(ok(input), want));

  it('RFC 3986 §5.2.4 remove_dot_segments examples', () => {
    assert.equal(removeDotSegments('/a/b/c/./../../g'), '/a/g');
    assert.equal(removeDotSegments('mid/content=5/../6'), 'mid/6');
    assert.equal(removeDotSegments('/../../x'), '/x');
    assert.equal(removeDotSegments('/a/..'), '/');
  });

  it('applies foldWww, trailingSlash and dropQuery', () => {
    assert.equal(ok('http://www.a.com/x/', { ...base, foldWww: true }), 'http://a.com/x/');
    assert.equal(ok('http://www.www.a.com/', { ...base, foldWww: true }), 'http://a.com/');
    assert.equal(ok('http://www.com/', { ...base, foldWww: true }), 'http://www.com/');
    assert.equal(ok('http://a.com/x//', { ...base, trailingSlash: 'strip' }), 'http://a.com/x');
    assert.equal(ok('http://a.com/', { ...base, trailingSlash: 'strip' }), 'http://a.com/');
    assert.equal(ok('http://a.com/x', { ...base, trailingSlash: 'add' }), 'http://a.com/x/');
    assert.equal(ok('http://a.com/x?b=1#f', { ...base, dropQuery: true }), 'http://a.com/x');
  });

  it('rejects unparseable URLs with stable reasons', () => {
    const cases: Array<[string, string, UrlOptions?]> = [
      ['', 'empty'], ['   ', 'empty'], ['ftp://a.com/', 'bad_scheme'], ['mailto:x@y.com', 'bad_scheme'],
      ['javascript:alert(1)', 'bad_scheme'], ['http:///x', 'no_host'], ['http://a b.com/', 'bad_host'],
      ['http://a.com:99999/', 'bad_port'], ['http://a.com:x/', 'bad_port'], ['/relative/path', 'no_scheme'],
      ['a.com/x', 'no_scheme', { ...base, defaultScheme: null }], ['http://a..com/', 'bad_host'],
    ];
    for (const [input, reason, opts] of cases) {
      const r = urlNormalizer(opts ?? base)(input);
      assert.equal(r.ok ? 'ok' : r.reason, reason, input);
    }
  });

  it('is idempotent (fast-check, all option combinations)', () => {
    const urlish = fc.oneof(
      fc.webUrl({ withFragments: true, withQueryParameters: true }),
      fc.string({ unit: fc.constantFrom(...'aA%2fF7eE./?&=#:@ é+~_-wW\\'.split('')), maxLength: 30 }).map((s) => 'http://Www.Ex.com/' + s),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(fc.property(urlish, normalizerOptions, (u, o) => {
      const n = urlNormalizer(o);
      const once = n(u);
      if (!once.ok) return;
      const twice = n(once.url);
      assert.ok(twice.ok, `${once.url} rejected on the second pass`);
      assert.equal(twice.url, once.url);
    }), { numRuns: 2000 });
  });

  it('urlCacheKey: normalizing the key gives what normalizing the URL gives (fast-check)', () => {
    const unit = fc.constantFrom(...'aA%2fF7eE./?&=#:@ é+~_-wW\\\t\uFFFD'.split(''));
    const urlish = fc.oneof(
      fc.webUrl({ withFragments: true, withQueryParameters: true }),
      fc.tuple(fc.constantFrom('http', 'HTTP', 'hTTps', 'ftp', 'h1', ' http'), fc.string({ unit: fc.constantFrom(...'aBc.:-8@[]%# /'.split('')), maxLength: 12 }), fc.string({ unit, maxLength: 30 }))
        .map(([sc, auth, rest]) => `${sc}://${auth}${rest}`),
      fc.string({ unit, maxLength: 30 }).map((s) => 'http://Www.Ex.com/' + s),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(fc.property(urlish, normalizerOptions, (u, o) => {
      const n = urlNormalizer(o);
      assert.deepEqual(n(urlCacheKey(u)), n(u), `key ${JSON.stringify(urlCacheKey(u))} of ${JSON.stringify(u)}`);
    }), { numRuns: 3000 });
    // and on the generator's variants (mixed case, ports, fragments, garbage), where it must hit
    const r = mulberry32(7);
    const keys = new Set<string>(), raws = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const u = urlVariant(r, i % 40);
      assert.deepEqual(norm(urlCacheKey(u)), norm(u), u);
      keys.add(urlCacheKey(u));
      raws.add(u);
    }
    assert.ok(keys.size < raws.size / 2, `${keys.size} keys for ${raws.size} distinct URLs`);
    assert.equal(urlCacheKey('http://example.com/a#x'), 'http://example.com/a');
    assert.equal(urlCacheKey('HTTP://Example.COM/A'), 'http://example.com/A');
    assert.equal(urlCacheKey('http://example.com/a #x'), 'http://example.com/a #x');
  });

  it('agrees with WHATWG URL on host and path for plain web URLs (fast-check)', () => {
    fc.assert(fc.property(fc.webUrl(), (u) => {
      const r = norm(u);
      if (!r.ok) return;
      const w = new URL(u);
      const ours = new URL(r.url);
      assert.equal(ours.hostname, w.hostname.replace(/\.$/, ''));
    }), { numRuns: 500 });
  });
});

describe('lib/identifiers', () => {
  const o = { stripUserZeros: true };
  it('normalizes typed identifiers', () => {
    assert.deepEqual(normalizeIdentifier('  Cookie:ABCdef01 ', o), { ok: true, id: 'cookie:abcdef01' });
    assert.deepEqual(normalizeIdentifier('user:000123', o), { ok: true, id: 'user:123' });
    assert.deepEqual(normalizeIdentifier('user:000', o), { ok: true, id: 'user:0' });
    assert.deepEqual(normalizeIdentifier('user:007', { stripUserZeros: false }), { ok: true, id: 'user:007' });
    assert.deepEqual(normalizeIdentifier('email:  Sally@Example.COM ', o), { ok: true, id: 'email:sally@example.com' });
    assert.deepEqual(normalizeIdentifier(' email:bob@x.org', o), { ok: true, id: 'email:bob@x.org' });
    assert.deepEqual(normalizeIdentifier('ip:11.11.11.111', o), { ok: true, id: 'ip:11.11.11.111' });
  });
  it('rejects bad identifiers with stable reasons', () => {
    const cases: Array<[string, string]> = [
      ['', 'id_empty'], ['abc', 'id_untyped'], ['fax:123', 'id_unknown_type'], ['cookie:xyz', 'id_bad_cookie'],
      ['user:12a', 'id_bad_user'], ['email:no-at', 'id_bad_email'], ['email:a@b@c', 'id_bad_email'], ['ip:', 'id_bad_ip'],
    ];
    for (const [input, reason] of cases) {
      const r = normalizeIdentifier(input, o);
      assert.equal(r.ok ? 'ok' : r.reason, reason, input);
    }
  });
  it('is idempotent (fast-check)', () => {
    const id = fc.tuple(fc.constantFrom('cookie:', 'user:', 'email:', 'ip:', ' Email: ', 'USER:'), fc.string({ unit: fc.constantFrom(...'0a9F@ .x-'.split('')), maxLength: 12 }))
      .map(([t, v]) => t + v);
    fc.assert(fc.property(id, (s) => {
      const a = normalizeIdentifier(s, o);
      if (!a.ok) return;
      assert.deepEqual(normalizeIdentifier(a.id, o), a);
    }), { numRuns: 2000 });
  });

  it('its fast path (values already normal) answers what the full normalization does (fast-check)', () => {
    const id = fc.tuple(fc.constantFrom('cookie:', 'user:', 'cookie:0', 'user:0', 'Cookie:', ' user:'), fc.string({ unit: fc.constantFrom(...'0123456789abcdefgA- \t'.split('')), maxLength: 10 }))
      .map(([t, v]) => t + v);
    for (const opts of [o, { stripUserZeros: false }]) {
      fc.assert(fc.property(id, (s) => assert.deepEqual(normalizeIdentifier(s, opts), normalizeIdentifierFull(s, opts))), { numRuns: 3000 });
    }
  });

  it('its byte rule (the column path\'s) accepts exactly the normal cookie and user ids, anywhere in a buffer (fast-check)', () => {
    // The oracle: the documented rule as regular expressions.
    const normal = (s: string, strip: boolean): boolean => /^cookie:[0-9a-f][0-9a-f-]*$/.test(s) || (strip ? /^user:(0|[1-9][0-9]*)$/ : /^user:[0-9]+$/).test(s);
    const id = fc.oneof(
      fc.tuple(fc.constantFrom('cookie:', 'user:', 'cookie:0', 'user:0', 'cookie:-', 'Cookie:', 'user', 'cookie', ''), fc.string({ unit: fc.constantFrom(...'0123456789abcdefgA-:/\u00e9\u0660'.split('')), maxLength: 24 })).map(([t, v]) => t + v),
      fc.string({ unit: 'binary', maxLength: 12 }),
    );
    fc.assert(fc.property(id, fc.nat({ max: 7 }), fc.boolean(), (s, pad, strip) => {
      const v = Buffer.from(s);
      const buf = Buffer.concat([Buffer.alloc(pad, 0x30), v, Buffer.from('0a')]);
      assert.equal(idBytesAlreadyNormal(buf, pad, v.length, strip), normal(s, strip), JSON.stringify(s));
    }), { numRuns: 5000 });
  });
});
