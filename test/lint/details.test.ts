// Edge cases of the rule families beyond the one-pass/one-fail table in rules.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadDocument } from '../../src/config/load.js';
import type { NemoclawConfig } from '../../src/generated/config.js';
import { lintConfig } from '../../src/lint/rules.js';
import { classifyHost } from '../../src/lint/rules/hosts.js';
import { CTX, expectOne, lint, ofRule, yaml } from './helpers.js';

/** A config whose one sandbox has one egress rule with these endpoints (YAML flow mappings). */
const eps = (...list: string[]): string =>
  yaml(`
  version: 1
  sandboxes:
    a:
      network:
        egress:
          - name: r
            endpoints:
${list.map((e) => `              - ${e}`).join('\n')}
`);

const hosts = (...list: string[]): string => eps(...list.map((h) => `{ host: ${JSON.stringify(h)}, port: 443 }`));

describe('hosts', () => {
  const verdict = (h: string) => {
    const v = classifyHost(h);
    return v.ok ? 'ok' : v.rule;
  };

  it('accepts DNS names, IDN names, a trailing dot and leftmost wildcards', () => {
    for (const h of [
      'api.example.com',
      'API.Example.COM',
      'bücher.example',
      'example.com.',
      '*.example.com',
      '*.github.io',
      'a-b.c_d.example',
    ]) {
      assert.equal(verdict(h), 'ok', h);
    }
    assert.deepEqual(classifyHost('*.Bücher.Example'), { ok: true, host: 'xn--bcher-kva.example', wildcard: true });
  });

  it('refuses IP literals, including the shorthand forms URL parsers accept', () => {
    for (const h of ['10.0.0.5', '::1', '[::1]', '[2001:db8::1]', '127.1', '0x7f.1', '2130706433', '0x7f000001', 'a.b.0x1']) {
      assert.equal(verdict(h), 'host-ip-literal', h);
    }
  });

  it('refuses wildcards over public suffixes, and misplaced or partial wildcards', () => {
    for (const h of ['*', '*.', '*.com', '*.CO.UK', '*.com.au', '*.internal']) assert.equal(verdict(h), 'host-wildcard-too-broad', h);
    for (const h of ['api*.x.com', '*api.x.com', 'a.*.x.com', '**.x.com', 'x.com.*', '*.*.x.com'])
      assert.equal(verdict(h), 'host-wildcard-position', h);
  });

  it('refuses malformed names with a specific reason', () => {
    const cases: Record<string, RegExp> = {
      'https://api.example.com': /URL/,
      'api.example.com/v1': /"\/"/,
      'api.example.com:443': /":"/,
      ' api.example.com': /spaces/,
      'a..example.com': /empty label/,
      '.example.com': /empty label/,
      '-a.example.com': /starts or ends/,
      'ex!mple.com': /invalid characters/,
      [`${'a'.repeat(64)}.example.com`]: /63/,
      [`${'abcdefghi.'.repeat(26)}com`]: /253/,
    };
    for (const [h, why] of Object.entries(cases)) {
      const v = classifyHost(h);
      assert.ok(!v.ok && v.rule === 'host-invalid', h);
      assert.match(v.why, why, h);
    }
  });

  it('reports each bad host at its own line', () => {
    const d = lint(hosts('ok.example.com', '*.com', '1.2.3.4', 'bad host'));
    assert.equal(expectOne(d, 'host-wildcard-too-broad', 9).rule, 'host-wildcard-too-broad');
    expectOne(d, 'host-ip-literal', 10);
    expectOne(d, 'host-invalid', 11);
    assert.equal(d.length, 3);
  });
});

describe('endpoints', () => {
  it('explains an explicit https protocol, and flags methods and paths separately', () => {
    const d = lint(eps('{ host: api.example.com, port: 8443, protocol: https, methods: [GET], paths: [/a] }'));
    const found = ofRule(d, 'https-method-path-filter');
    assert.deepEqual(
      found.map((x) => x.pointer.split('/').pop()),
      ['methods', 'paths'],
    );
    assert.match(found[0]!.message, /protocol is https/);
    assert.match(found[0]!.message, /only by host and port/);
    assert.match(found[0]!.hint!, /protocol: http/);
  });

  it('http on port 443 may filter methods and paths (the protocol is explicit)', () => {
    assert.deepEqual(lint(eps('{ host: api.example.com, port: 443, protocol: http, methods: [GET] }')), []);
  });

  it('shadowing follows hosts, ports, protocols, methods and paths', () => {
    const d = lint(
      eps(
        '{ host: "*.example.com", port: 443 }', // 8
        '{ host: "*.api.example.com", port: 443 }', // 9: shadowed by 8
        '{ host: example.com, port: 443 }', // 10: apex is not covered by *.example.com
        '{ host: a.example.com, port: 8443 }', // 11: other port
        '{ host: b.example.com, port: 80, methods: [GET] }', // 12: shadowed by 13
        '{ host: b.example.com, port: 80, methods: [GET, POST] }', // 13
        '{ host: c.example.com, port: 80, paths: [/v1/*] }', // 14: shadowed by 15 (/** = any path)
        '{ host: c.example.com, port: 80, paths: ["/**"] }', // 15
        '{ host: d.example.com, port: 80, paths: [/v1/*] }', // 16: not shadowed: globs differ
        '{ host: d.example.com, port: 80, paths: [/v2/*] }', // 17
      ),
    );
    assert.deepEqual(
      ofRule(d, 'endpoint-shadowed').map((x) => x.line),
      [9, 12, 14],
    );
    assert.deepEqual(ofRule(d, 'endpoint-duplicate'), []);
    assert.match(ofRule(d, 'endpoint-shadowed')[0]!.message, /\*\.example\.com:443 at egress\[0\]\.endpoints\[0\]/);
  });

  it('does not compare endpoints across sandboxes', () => {
    const src = yaml(`
      version: 1
      sandboxes:
        a:
          network: { egress: [{ name: r, endpoints: [{ host: "*.example.com", port: 443 }] }] }
        b:
          network: { egress: [{ name: r, endpoints: [{ host: "api.example.com", port: 443 }] }] }
    `);
    assert.deepEqual(lint(src), []);
  });
});

describe('allowed_ips', () => {
  const ips = (...list: string[]): string =>
    yaml(`
    version: 1
    sandboxes:
      a:
        network:
          allowed_ips:
${list.map((x) => `            - ${JSON.stringify(x)}`).join('\n')}
  `);
  const rulesOf = (...list: string[]) => lint(ips(...list)).map((d) => d.rule);

  it('refuses ranges that are, or contain, loopback, link-local, unspecified or metadata addresses', () => {
    for (const c of [
      '127.0.0.1/32',
      '127.0.0.0/8',
      '0.0.0.0/0',
      '0.0.0.0',
      '169.254.169.254',
      '::1/128',
      '::/0',
      '::',
      'fe80::1/128',
      '::ffff:127.0.0.1/128',
      '::ffff:169.254.169.254',
      '100.100.100.200/32',
      'fd00:ec2::254/128',
      '96.0.0.0/3',
    ]) {
      assert.deepEqual(rulesOf(c), ['allowed-ips-forbidden'], c);
    }
  });

  it('warns about private ranges and mentions a metadata address inside them', () => {
    for (const c of ['10.0.0.0/8', '10.20.30.40/32', '172.16.0.0/12', '192.168.0.0/24', '100.64.0.0/10', 'fd12:3456::/48', '8.0.0.0/5']) {
      assert.deepEqual(rulesOf(c), ['allowed-ips-private'], c);
    }
    const [d] = lint(ips('100.64.0.0/10'));
    assert.match(d!.message, /100\.100\.100\.200/);
  });

  it('refuses what is not a CIDR, and CIDRs with host bits set', () => {
    for (const c of ['10.0.0.0/33', '10.0.0/8', '10.0.0.0/', 'example.com', '10.0.0.0/8/8', ' 10.0.0.0/8', '::/129', '10.1.2.3/8']) {
      assert.deepEqual(rulesOf(c), ['allowed-ips-invalid'], c);
    }
  });

  it('accepts public ranges without comment', () => {
    assert.deepEqual(rulesOf('203.0.113.0/24', '2001:db8::/32', '198.51.100.7'), []);
  });
});

describe('filesystem', () => {
  const fs = (body: string): string =>
    yaml(`
    version: 1
    sandboxes:
      a:
${yaml(body).replace(/^(?=.)/gm, '        ')}`);

  it('flags .. and . segments and relative workdirs', () => {
    const d = lint(
      fs(`
      workdir: work
      filesystem:
        read_only: [/opt/../etc, /opt/./x, ""]
    `),
    );
    assert.deepEqual(
      ofRule(d, 'path-relative').map((x) => [x.line, x.pointer.split('/').slice(3).join('/')]),
      [
        [4, 'workdir'],
        [6, 'filesystem/read_only/0'],
        [6, 'filesystem/read_only/1'],
        [6, 'filesystem/read_only/2'],
      ],
    );
    assert.match(ofRule(d, 'path-relative')[1]!.message, /"\.\."/);
  });

  it('flags /, system directories, their ancestors and descendants as writable, including workdir', () => {
    const d = lint(
      fs(`
      workdir: /etc/agent
      filesystem:
        read_write: [/, /var, /lib64, /libexec/x, /var/lib/agent, /root/.cache, /tmp, /var/tmp, /srv/x, /home/agent]
    `),
    );
    const flagged = ofRule(d, 'path-system-writable').map((x) => x.pointer.split('/').slice(3).join('/'));
    assert.deepEqual(flagged, ['workdir', ...[0, 1, 2, 3, 4, 5].map((i) => `filesystem/read_write/${i}`)]);
    assert.match(ofRule(d, 'path-system-writable')[1]!.message, /whole file system/);
    assert.match(ofRule(d, 'path-system-writable')[2]!.message, /contains the system directory \/var\/lib/);
  });

  it('an executable path may sit under the workdir (which is writable)', () => {
    assert.deepEqual(lint(fs('workdir: /work\nfilesystem:\n  executable: [/work/bin]\n')), []);
    expectOne(lint(fs('workdir: /work\nfilesystem:\n  executable: [/sandbox/bin]\n')), 'executable-not-granted', 6);
  });
});

describe('fields a blueprint may provide are not assumed absent', () => {
  const withBlueprint = (body: string): string =>
    yaml(`
    version: 1
    sandboxes:
      a:
        blueprint: openclaw
${yaml(body).replace(/^(?=.)/gm, '        ')}`);

  it('holds back executable, docker image and process-runtime checks, not the others', () => {
    assert.deepEqual(lint(withBlueprint('filesystem:\n  executable: [/opt/tools]\n')), []);
    assert.deepEqual(lint(withBlueprint('runtime: docker\n')), []);
    assert.deepEqual(lint(withBlueprint(`image: "ghcr.io/acme/agent@sha256:${'0'.repeat(64)}"\n`)), []);
    // As written, an unpinned image is still unpinned, whatever the blueprint says.
    expectOne(lint(withBlueprint('image: ghcr.io/acme/agent:latest\n')), 'image-not-pinned', 5);
    expectOne(lint(withBlueprint('process:\n  user: root\n')), 'user-root', 6);
  });
});

describe('runtime, images and references', () => {
  it('reports a malformed digest as unpinned', () => {
    const d = lint(
      yaml(`
      version: 1
      sandboxes:
        a: { runtime: docker, image: "x@sha256:abc" }
    `),
    );
    assert.match(expectOne(d, 'image-not-pinned', 3).message, /malformed digest/);
  });

  it('lists the known presets and blueprints, or says there are none', () => {
    const src = yaml('version: 1\nsandboxes:\n  a: { blueprint: foo, network: { presets: [bar] } }\n');
    const d = lint(src);
    assert.match(expectOne(d, 'blueprint-unknown', 3).message, /known blueprints: openclaw/);
    assert.match(expectOne(d, 'preset-unknown', 3).message, /known presets: github, pypi/);
    const none = lint(src, { ...CTX, knownPresets: [], knownBlueprints: [] });
    assert.match(ofRule(none, 'preset-unknown')[0]!.message, /no presets are available/);
  });

  it('checks syscall names only when the known set is given', () => {
    const src = yaml('version: 1\nsandboxes:\n  a: { process: { seccomp: { allow: [frobnicate] } } }\n');
    expectOne(lint(src), 'seccomp-unknown-syscall', 3);
    assert.deepEqual(lint(src, { ...CTX, knownSyscalls: undefined }), []);
  });
});

describe('env', () => {
  it('refuses every spelling of the proxy variables and the loader variables', () => {
    const d = lint(
      yaml(`
      version: 1
      sandboxes:
        a:
          env: { HTTP_PROXY: a, http_proxy: a, HTTPS_PROXY: a, ALL_PROXY: a, all_proxy: a, NO_PROXY: a, no_proxy: a, Https_Proxy: a, LD_PRELOAD: a, LD_AUDIT: a }
    `),
    );
    assert.equal(ofRule(d, 'env-reserved').length, 8);
    assert.equal(ofRule(d, 'env-dangerous').length, 2);
  });
});

describe('suppression', () => {
  it('never hides an error, even when its id is listed', () => {
    const d = lint(
      yaml(`
      version: 1
      sandboxes:
        a: { process: { user: root } }
      lint:
        suppress: [user-root]
    `),
    );
    assert.deepEqual(
      d.map((x) => [x.rule, x.line]),
      [
        ['user-root', 3],
        ['lint-suppress-error', 5],
      ],
    );
  });

  it('hides only the listed warnings', () => {
    const src = yaml(`
      version: 1
      sandboxes:
        a:
          filesystem: { landlock: best_effort }
          process: { group: 0 }
      lint:
        suppress: [group-root]
    `);
    assert.deepEqual(
      lint(src).map((d) => d.rule),
      ['landlock-best-effort'],
    );
  });
});

describe('robustness', () => {
  it('does not throw on shapes the schema would refuse', () => {
    const doc = loadDocument('x.yaml', 'version: 1\n');
    const weird = [
      {},
      { sandboxes: null },
      { sandboxes: { a: null } },
      { sandboxes: { a: [] } },
      {
        sandboxes: {
          a: { filesystem: 'x', network: { egress: 'x', allowed_ips: [1, null] }, env: [1], process: { seccomp: { allow: 'x' } } },
        },
      },
      { sandboxes: { a: { network: { egress: [null, { endpoints: [null, { host: 5, port: 'x', methods: 'GET' }] }] } } } },
      { inference: { providers: { p: null, q: { endpoint: 5, credential: 7 } } }, lint: { suppress: 'x' } },
    ];
    for (const w of weird) assert.doesNotThrow(() => lintConfig(doc, w as unknown as NemoclawConfig, CTX), JSON.stringify(w));
  });
});
