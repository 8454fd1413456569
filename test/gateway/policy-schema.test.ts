// The gateway's policy parser: egress.json bytes are checked against schemas/egress.schema.json and
// every refusal names the field and what is wrong with it (the operator reads it from a failed PUT).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { policyVersion } from '../../src/compiler/canonical.js';
import { parsePolicy, PolicyError, MAX_POLICY_BYTES } from '../../src/gateway/policy.js';

type Json = Record<string, unknown>;

function base(): Json {
  return {
    format_version: 1,
    sandbox: 'agent',
    default: 'deny',
    on_deny: 'ask',
    allowed_ips: ['10.1.0.0/16', 'fd00::/8'],
    rules: [
      {
        name: 'api',
        source: 'config',
        endpoints: [
          { host: 'api.example.com', wildcard: false, port: 443, protocol: 'https', methods: null, paths: null },
          { host: 'example.com', wildcard: true, port: 8080, protocol: 'http', methods: ['GET', 'POST'], paths: ['/api/**'] },
        ],
      },
    ],
    inference: {
      provider: 'nvidia',
      providers: {
        nvidia: {
          api: 'openai',
          endpoint: 'https://integrate.api.nvidia.com/v1',
          model: 'm',
          models: [],
          credential: 'env:KEY',
          ca_file: null,
          local: false,
        },
      },
      aliases: {},
      fallback: [],
      local_only: false,
      limits: { requests_per_minute: null, concurrent: null, tokens_per_day: null },
    },
  };
}

const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
const endpoint = (p: Json) => ((p.rules as Json[])[0]!.endpoints as Json[])[1]!;

test('a valid policy parses, with its version and its allowed ranges', () => {
  const b = bytes(base());
  const loaded = parsePolicy(b);
  assert.equal(loaded.version, policyVersion(b));
  assert.equal(loaded.policy.rules[0]!.endpoints[1]!.wildcard, true);
  assert.equal(loaded.allowedIps.length, 2);
  const none = { ...base(), inference: null, allowed_ips: [], rules: [] };
  assert.equal(parsePolicy(bytes(none)).policy.inference, null);
});

const REFUSED: [string, (p: Json) => unknown, RegExp][] = [
  [
    'a field it does not know',
    (p) => ({ ...p, deny_paths: ['/x'] }),
    /^egress policy does not match .*: \(policy\) has unknown field "deny_paths"$/,
  ],
  ['a missing field', (p) => ({ ...p, on_deny: undefined }), /\(policy\) needs field "on_deny"/],
  ['another format version', (p) => ({ ...p, format_version: 2 }), /format_version must be 1/],
  ['default allow', (p) => ({ ...p, default: 'allow' }), /default must be "deny"/],
  ['an unknown on_deny', (p) => ({ ...p, on_deny: 'log' }), /on_deny must be one of "deny", "ask"/],
  ['a bad sandbox name', (p) => ({ ...p, sandbox: '../etc' }), /sandbox must match pattern/],
  ['a port out of range', (p) => void (endpoint(p).port = 70000), /rules\[0\]\.endpoints\[1\]\.port must be <= 65535/],
  ['a port that is not an integer', (p) => void (endpoint(p).port = 443.5), /rules\[0\]\.endpoints\[1\]\.port must be integer/],
  ['an upper-case host', (p) => void (endpoint(p).host = 'Example.com'), /rules\[0\]\.endpoints\[1\]\.host must match pattern/],
  ['a host with a trailing dot', (p) => void (endpoint(p).host = 'example.com.'), /rules\[0\]\.endpoints\[1\]\.host must match pattern/],
  [
    'an unknown method',
    (p) => void (endpoint(p).methods = ['GET', 'TRACE']),
    /^[^;]*endpoints\[1\]\.methods\[1\] must be one of "GET", .*"OPTIONS"$/,
  ],
  ['methods as a string', (p) => void (endpoint(p).methods = 'GET'), /endpoints\[1\]\.methods must be array or null$/],
  ['a relative path glob', (p) => void (endpoint(p).paths = ['api/**']), /endpoints\[1\]\.paths\[0\] must match pattern "\^\/"/],
  ['a wildcard that is a string', (p) => void (endpoint(p).wildcard = 'true'), /endpoints\[1\]\.wildcard must be boolean/],
  ['a rule without a name', (p) => void ((p.rules as Json[])[0]!.name = ''), /rules\[0\]\.name must NOT have fewer than 1 characters/],
  ['an inference route without its limits', (p) => void delete (p.inference as Json).limits, /inference needs field "limits"$/],
  ['inference as a string', (p) => ({ ...p, inference: 'nvidia' }), /inference must be object or null$/],
  [
    'an allowed range that is not a CIDR',
    (p) => ({ ...p, allowed_ips: ['10.1.0.0/16', '10.0.0.0/33'] }),
    /^egress policy: allowed_ips\[1\] is not a CIDR$/,
  ],
  ['an array', () => [], /\(policy\) must be object$/],
];

test('the gateway refuses policies that do not match the schema, naming the field', () => {
  for (const [what, change, message] of REFUSED) {
    const p = base();
    const changed = change(p);
    const input = changed !== null && typeof changed === 'object' ? changed : p;
    assert.throws(
      () => parsePolicy(bytes(input)),
      (e: unknown) => {
        assert.ok(e instanceof PolicyError, `${what}: ${String(e)}`);
        assert.match(e.message, message, what);
        return true;
      },
      what,
    );
  }
});

test('many mistakes are reported a few at a time, in document order', () => {
  const p = base();
  p.rules = Array.from({ length: 50 }, (_, i) => ({ name: `r${i}`, source: 'config', endpoints: [{ ...endpoint(base()), port: 0 }] }));
  assert.throws(
    () => parsePolicy(bytes(p)),
    (e: unknown) => {
      assert.ok(e instanceof PolicyError);
      assert.match(e.message, /rules\[0\]\.endpoints\[0\]\.port must be >= 1; rules\[1\]/);
      assert.match(e.message, /\(and 45 more\)$/);
      return true;
    },
  );
});

test('bytes that are not a JSON policy are refused before any schema check', () => {
  assert.throws(() => parsePolicy(Buffer.from('{"format_version": 1,')), /egress policy is not JSON/);
  assert.throws(() => parsePolicy(Buffer.alloc(MAX_POLICY_BYTES + 1, 0x20)), /bytes; limit/);
});
