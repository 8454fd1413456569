// The gateway's rule matcher and path checks: pure, table-driven (the socket tests in proxy.test.ts
// show the same decisions on the wire).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forwardHeaders, framingHeaders, requestFraming } from '../../src/gateway/framing.js';
import { globToRegExp, matchablePath, PolicyIndex, type MatchQuery } from '../../src/gateway/matcher.js';
import type { EgressPolicy } from '../../src/gateway/policy.js';

describe('path globs', () => {
  const rows: [glob: string, path: string, matches: boolean][] = [
    ['/api/*', '/api/items', true],
    ['/api/*', '/api/', true], // `*` may be empty
    ['/api/*', '/api', false], // trailing slash is part of the glob
    ['/api/*', '/api/a/b', false], // `*` stays within one segment
    ['/api/**', '/api/a/b/c', true],
    ['/api/**', '/api/', true],
    ['/api/**', '/api', false],
    ['/api/**', '/apix/y', false],
    ['/api/**/items', '/api/a/b/items', true],
    ['/api/**/items', '/api/items', false], // `**` includes its slashes: /api/ + ** + /items
    ['/one/*/two', '/one/x/two', true],
    ['/one/*/two', '/one/x/y/two', false],
    ['/v1.0/*', '/v1x0/a', false], // `.` is literal
    ['/a+b', '/a+b', true],
    ['/a+b', '/aab', false],
    ['/(x)', '/(x)', true],
    ['/x$', '/x$', true],
    ['/api/*', '/API/items', false], // paths are case-sensitive
    ['/Api/*', '/Api/x', true],
    ['/file', '/file/', false],
    ['/file/', '/file', false],
    ['/*', '/', true],
    ['/**', '/anything/at/all', true],
  ];
  for (const [glob, path, want] of rows) {
    it(`${glob} ${want ? 'matches' : 'does not match'} ${path}`, () => assert.equal(globToRegExp(glob).test(path), want));
  }
});

describe('matchablePath', () => {
  const rows: [target: string, want: string | undefined][] = [
    ['/api/items', '/api/items'],
    ['/api/items?x=1', '/api/items'],
    ['/api/items?x=../..', '/api/items'], // the query is not a path
    ['/api/items#frag', '/api/items'],
    ['/', '/'],
    ['/a.b/c..d/...', '/a.b/c..d/...'], // dots inside names are fine
    ['/api/%41BC', '/api/%41BC'], // ordinary escapes pass through as sent
    ['api/items', undefined], // not origin-form
    ['*', undefined],
    ['/api/../admin', undefined],
    ['/api/./admin', undefined],
    ['/api/..', undefined],
    ['/..', undefined],
    ['/api/%2e%2e/admin', undefined],
    ['/api/%2E%2E/admin', undefined],
    ['/api/.%2e/admin', undefined],
    ['/api/%2e/admin', undefined],
    ['/api%2fadmin', undefined],
    ['/api%2Fadmin', undefined],
    ['/api%5cadmin', undefined],
    ['/api\\..\\admin', undefined],
    ['/api\\admin', undefined],
    // spellings other servers read as dot segments or separators
    ['/public/..;/admin', undefined], // Tomcat, Spring: `..;` is `..`
    ['/public/.;/admin', undefined],
    ['/public/..;jsessionid=1/admin', undefined],
    ['/public/%2e%2e;/admin', undefined],
    ['/public/%2e%2e%3b/admin', undefined],
    ['/public/%c0%ae%c0%ae/admin', undefined], // overlong UTF-8 (legacy IIS)
    ['/public/%e0%80%ae/admin', undefined],
    ['/public/%c0%af', undefined], // overlong slash
    ['/public/%252e%252e/admin', undefined], // double encoding
    ['/public/%25%32%65/admin', undefined],
    ['/public/%u002e%u002e/admin', undefined], // IIS %u
    ['/public/%U002E/admin', undefined],
    ['/public/%ef%bc%8e%ef%bc%8e/admin', undefined], // fullwidth ．． (NFKC: ..)
    ['/public/%e2%80%a5/admin', undefined], // two dot leader ‥ (NFKC: ..)
    ['/public/a%ef%bc%8fb', undefined], // fullwidth solidus
    ['/public/%00/admin', undefined],
    ['/public/%0a', undefined],
    ['/public/%zz', undefined],
    ['/public/100%', undefined],
    ['/public/%ff', undefined], // not UTF-8
    // and what stays fine
    ['/public/a;v=1/b', '/public/a;v=1/b'],
    ['/public/%25', '/public/%25'], // an encoded percent sign, once
    ['/public/caf%c3%a9', '/public/caf%c3%a9'],
    ['/public/%2e%2e%2e', '/public/%2e%2e%2e'], // three dots is a name
  ];
  for (const [target, want] of rows) {
    it(`${JSON.stringify(target)} → ${want === undefined ? 'ambiguous' : want}`, () => assert.equal(matchablePath(target), want));
  }
});

describe('PolicyIndex', () => {
  const policy: EgressPolicy = {
    format_version: 1,
    sandbox: 'agent',
    default: 'deny',
    on_deny: 'deny',
    allowed_ips: [],
    inference: null,
    rules: [
      {
        name: 'gh',
        source: 'config',
        endpoints: [
          { host: 'api.github.com', wildcard: false, port: 443, protocol: 'https', methods: null, paths: null },
          { host: 'github.com', wildcard: true, port: 443, protocol: 'https', methods: null, paths: null },
        ],
      },
      {
        name: 'web',
        source: 'config',
        endpoints: [{ host: 'web.test', wildcard: false, port: 80, protocol: 'http', methods: ['GET', 'HEAD'], paths: ['/public/**'] }],
      },
      {
        name: 'plain',
        source: 'config',
        endpoints: [{ host: 'both.test', wildcard: false, port: 8080, protocol: 'http', methods: null, paths: null }],
      },
      {
        name: 'raw',
        source: 'config',
        endpoints: [{ host: 'both.test', wildcard: false, port: 8080, protocol: 'https', methods: null, paths: null }],
      },
    ],
  };
  const index = new PolicyIndex(policy);
  const rows: [MatchQuery, string][] = [
    [{ host: 'api.github.com', port: 443, kind: 'tunnel' }, 'gh'],
    [{ host: 'a.github.com', port: 443, kind: 'tunnel' }, 'gh'],
    [{ host: 'a.b.github.com', port: 443, kind: 'tunnel' }, 'gh'],
    [{ host: 'github.com', port: 443, kind: 'tunnel' }, 'no_rule'], // a wildcard never matches its apex
    [{ host: 'xgithub.com', port: 443, kind: 'tunnel' }, 'no_rule'],
    [{ host: 'api.github.com', port: 80, kind: 'tunnel' }, 'port_not_allowed'],
    [{ host: 'api.github.com', port: 443, kind: 'http', method: 'GET', path: '/' }, 'protocol_mismatch'],
    [{ host: 'web.test', port: 80, kind: 'tunnel' }, 'web (inspect)'], // CONNECT to an http endpoint: requests inside are checked
    [{ host: 'both.test', port: 8080, kind: 'tunnel' }, 'raw'], // an https endpoint on the same port allows the raw tunnel
    [{ host: 'both.test', port: 8080, kind: 'http', method: 'GET', path: '/' }, 'plain'],
    [{ host: 'web.test', port: 80, kind: 'http', method: 'GET', path: '/public/x' }, 'web'],
    [{ host: 'web.test', port: 80, kind: 'http', method: 'HEAD', path: '/public/a/b' }, 'web'],
    [{ host: 'web.test', port: 80, kind: 'http', method: 'POST', path: '/public/x' }, 'method_not_allowed'],
    [{ host: 'web.test', port: 80, kind: 'http', method: 'GET', path: '/private' }, 'path_not_allowed'],
    [{ host: 'web.test', port: 80, kind: 'http', method: 'GET', path: '/public' }, 'path_not_allowed'],
    [{ host: 'web.test', port: 81, kind: 'http', method: 'GET', path: '/public/x' }, 'port_not_allowed'],
    [{ host: 'other.test', port: 80, kind: 'http', method: 'GET', path: '/public/x' }, 'no_rule'],
  ];
  for (const [q, want] of rows) {
    it(`${q.kind} ${q.method ?? ''} ${q.host}:${q.port}${q.path ?? ''} → ${want}`, () => {
      const m = index.match(q);
      assert.equal(m.allowed ? `${m.rule}${m.inspect ? ' (inspect)' : ''}` : m.reason, want);
    });
  }
});

describe('request framing', () => {
  const h = (...kv: string[]) => kv;
  const rows: [method: string, headers: string[], want: string][] = [
    ['GET', h('Host', 'x'), 'none'],
    ['GET', h('Content-Length', '0'), 'none'],
    ['POST', h('Content-Length', '12'), 'length 12'],
    ['POST', h('Transfer-Encoding', 'chunked'), 'chunked'],
    ['POST', h('transfer-encoding', ' Chunked '), 'chunked'],
    ['POST', h(), 'none'],
    ['GET', h('Content-Length', '3'), 'refused'],
    ['HEAD', h('Content-Length', '3'), 'refused'],
    ['DELETE', h('Transfer-Encoding', 'chunked'), 'refused'],
    ['OPTIONS', h('Content-Length', '1'), 'refused'],
    ['POST', h('Content-Length', '3', 'Transfer-Encoding', 'chunked'), 'refused'],
    ['POST', h('Content-Length', '3', 'Content-Length', '3'), 'refused'],
    ['POST', h('Content-Length', '3, 3'), 'refused'],
    ['POST', h('Content-Length', '-1'), 'refused'],
    ['POST', h('Transfer-Encoding', 'gzip, chunked'), 'refused'],
    ['POST', h('Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'), 'refused'],
    ['POST', h('Connection', 'Content-Length', 'Content-Length', '3'), 'refused'],
    ['POST', h('Connection', 'keep-alive, transfer-encoding', 'Transfer-Encoding', 'chunked'), 'refused'],
    ['GET', h('Connection', 'Host'), 'refused'],
    ['GET', h('Connection', 'keep-alive, x-foo', 'X-Foo', '1'), 'none'],
  ];
  for (const [method, headers, want] of rows) {
    it(`${method} ${JSON.stringify(headers)} → ${want}`, () => {
      const r = requestFraming(method, headers);
      const got = !r.ok ? 'refused' : r.framing.body === 'length' ? `length ${r.framing.length}` : r.framing.body;
      assert.equal(got, want);
    });
  }
  it('an upgrade request carries no body', () => {
    assert.equal(requestFraming('GET', ['Content-Length', '0'], { upgrade: true }).ok, true);
    assert.equal(requestFraming('POST', ['Content-Length', '4'], { upgrade: true }).ok, false);
  });
  it('forwarded headers drop hop-by-hop ones and those Connection names, and restate the framing', () => {
    const raw = [
      'Host',
      'x',
      'Connection',
      'keep-alive, X-Secret',
      'X-Secret',
      's',
      'Keep-Alive',
      '5',
      'Proxy-Authorization',
      'Basic x',
      'Accept',
      '*/*',
      'Content-Length',
      '3',
    ];
    assert.deepEqual(forwardHeaders(raw, new Set(['host', 'content-length'])), ['Accept', '*/*']);
    assert.deepEqual(framingHeaders('POST', { body: 'length', length: 3 }), ['Content-Length', '3']);
    assert.deepEqual(framingHeaders('POST', { body: 'chunked' }), ['Transfer-Encoding', 'chunked']);
    assert.deepEqual(framingHeaders('POST', { body: 'none' }), ['Content-Length', '0']);
    assert.deepEqual(framingHeaders('GET', { body: 'none' }), []);
  });
});
