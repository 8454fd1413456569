// The gateway's rule matcher and path checks: pure, table-driven (the socket tests in proxy.test.ts
// show the same decisions on the wire).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
      assert.equal(m.allowed ? m.rule : m.reason, want);
    });
  }
});
