// One failing and one passing snippet per lint rule, each through the real YAML loader, with the
// reported line (and usually column) asserted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RULES } from '../../src/lint/rules.js';
import { type CTX, expectOne, lint, PINNED, yaml } from './helpers.js';

/** `at`: text on the reported line where the finding must start (its column is derived from it). */
interface Case {
  rule: string;
  bad: string;
  line: number;
  at: string;
  good: string;
  ctx?: typeof CTX;
}

const sb = (body: string): string =>
  yaml(`
  version: 1
  sandboxes:
    a:
${yaml(body).replace(/^(?=.)/gm, '      ')}`);
// Lines of `body` start at line 4 of the document.

const endpoint = (ep: string): string =>
  sb(`
  network:
    egress:
      - name: api
        endpoints:
          - ${ep}
`); // the endpoint is on line 8

const CASES: Case[] = [
  {
    rule: 'path-relative',
    bad: sb('filesystem:\n  read_write:\n    - data\n'),
    line: 6,
    at: 'data',
    good: sb('filesystem:\n  read_write:\n    - /srv/data\n'),
  },
  {
    rule: 'path-system-writable',
    bad: sb('filesystem:\n  read_write: [/tmp, /usr/local]\n'),
    line: 5,
    at: '/usr/local',
    good: sb('filesystem:\n  read_write: [/tmp, /srv/agent]\n'),
  },
  {
    rule: 'path-conflict',
    bad: sb('filesystem:\n  read_only: [/data]\n  read_write: [/data/]\n'),
    line: 6,
    at: '/data/',
    good: sb('filesystem:\n  read_only: [/data]\n  read_write: [/data/cache]\n'),
  },
  {
    rule: 'read-only-host-sockets',
    bad: sb('filesystem:\n  read_only: [/usr, /var/run/dbus]\n'),
    line: 5,
    at: '/var/run/dbus',
    good: sb('filesystem:\n  read_only: [/usr, /var/lib/agent-config, /runtime]\n'),
  },
  {
    rule: 'mount-under-writable',
    bad: sb('filesystem:\n  read_write: [/tmp]\n  read_only: [/tmp/tools]\n'),
    line: 6,
    at: '/tmp/tools',
    good: sb('filesystem:\n  read_write: [/tmp]\n  read_only: [/opt/tools]\n  executable: [/tmp/bin]\n'),
  },
  {
    rule: 'executable-not-granted',
    bad: sb('filesystem:\n  read_write: [/srv/agent]\n  executable: [/opt/tools]\n'),
    line: 6,
    at: '/opt/tools',
    good: sb('filesystem:\n  read_write: [/srv/agent]\n  executable: [/srv/agent/bin, /sandbox/bin]\n'),
  },
  {
    rule: 'landlock-best-effort',
    bad: sb('filesystem:\n  landlock: best_effort\n'),
    line: 5,
    at: 'best_effort',
    good: sb('filesystem:\n  landlock: hard_requirement\n'),
  },

  {
    rule: 'host-wildcard-too-broad',
    bad: endpoint('{ host: "*.com", port: 443 }'),
    line: 8,
    at: '"*.com"',
    good: endpoint('{ host: "*.example.com", port: 443 }'),
  },
  {
    rule: 'host-wildcard-position',
    bad: endpoint('{ host: "api.*.example.com", port: 443 }'),
    line: 8,
    at: '"api.*',
    good: endpoint('{ host: "*.api.example.com", port: 443 }'),
  },
  {
    rule: 'host-ip-literal',
    bad: endpoint('{ host: "10.0.0.5", port: 443 }'),
    line: 8,
    at: '"10.0.0.5"',
    good: endpoint('{ host: "db.corp.example", port: 443 }'),
  },
  {
    rule: 'host-invalid',
    bad: endpoint('{ host: "api example.com", port: 443 }'),
    line: 8,
    at: '"api example',
    good: endpoint('{ host: "api.example.com", port: 443 }'),
  },
  {
    rule: 'port-range',
    bad: endpoint('{ host: api.example.com, port: 0 }'),
    line: 8,
    at: '0 }',
    good: endpoint('{ host: api.example.com, port: 8080 }'),
  },
  {
    rule: 'https-method-path-filter',
    bad: endpoint('{ host: api.example.com, port: 443, paths: [/v1/**] }'),
    line: 8,
    at: 'paths:',
    good: endpoint('{ host: api.example.com, port: 80, protocol: http, methods: [GET], paths: [/v1/**] }'),
  },
  {
    rule: 'egress-binaries',
    bad: sb(
      'network:\n  egress:\n    - name: api\n      binaries: [/usr/bin/curl]\n      endpoints: [{ host: api.example.com, port: 443 }]\n',
    ),
    line: 7,
    at: 'binaries',
    good: sb('network:\n  egress:\n    - name: api\n      endpoints: [{ host: api.example.com, port: 443 }]\n'),
  },
  {
    rule: 'egress-rule-duplicate-name',
    bad: sb(
      'network:\n  egress:\n    - name: api\n      endpoints: [{ host: a.example.com, port: 443 }]\n    - name: api\n      endpoints: [{ host: b.example.com, port: 443 }]\n',
    ),
    line: 8,
    at: 'api',
    good: sb(
      'network:\n  egress:\n    - name: api\n      endpoints: [{ host: a.example.com, port: 443 }]\n    - name: api2\n      endpoints: [{ host: b.example.com, port: 443 }]\n',
    ),
  },
  {
    rule: 'endpoint-duplicate',
    bad: sb(
      'network:\n  egress:\n    - name: a\n      endpoints:\n        - { host: API.example.com, port: 443 }\n        - { host: api.example.com, port: 443, protocol: https }\n',
    ),
    line: 9,
    at: '{',
    good: sb(
      'network:\n  egress:\n    - name: a\n      endpoints:\n        - { host: api.example.com, port: 443 }\n        - { host: api.example.com, port: 8443 }\n',
    ),
  },
  {
    rule: 'endpoint-shadowed',
    bad: sb(
      'network:\n  egress:\n    - name: a\n      endpoints: [{ host: api.example.com, port: 443 }]\n    - name: b\n      endpoints: [{ host: "*.example.com", port: 443 }]\n',
    ),
    line: 7,
    at: '{',
    good: sb(
      'network:\n  egress:\n    - name: a\n      endpoints: [{ host: example.com, port: 443 }]\n    - name: b\n      endpoints: [{ host: "*.example.com", port: 443 }]\n',
    ),
  },

  {
    rule: 'allowed-ips-invalid',
    bad: sb('network:\n  allowed_ips: [10.0.0.0/33]\n'),
    line: 5,
    at: '10.0.0.0/33',
    good: sb('network:\n  allowed_ips: [203.0.113.0/24]\n'),
  },
  {
    rule: 'allowed-ips-forbidden',
    bad: sb('network:\n  allowed_ips:\n    - 203.0.113.0/24\n    - 169.254.169.254/32\n'),
    line: 7,
    at: '169.254',
    good: sb('network:\n  allowed_ips:\n    - 203.0.113.0/24\n    - 198.51.100.0/24\n'),
  },
  {
    rule: 'allowed-ips-private',
    bad: sb('network:\n  allowed_ips: [192.168.1.0/24]\n'),
    line: 5,
    at: '192.168',
    good: sb('network:\n  allowed_ips: [198.51.100.7/32]\n'),
  },

  {
    rule: 'secret-in-config',
    bad: sb('env:\n  TZ: UTC\n  NOTE: "token ghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5"\n'),
    line: 6,
    at: '"token',
    good: sb('env:\n  TZ: UTC\n  NOTE: "ghp_ prefixes are GitHub tokens"\n'),
  },
  {
    rule: 'env-reserved',
    bad: sb('env:\n  TZ: UTC\n  https_proxy: http://evil.example:3128\n'),
    line: 6,
    at: 'https_proxy',
    good: sb('env:\n  TZ: UTC\n  PROXY_MODE: strict\n'),
  },
  {
    rule: 'env-dangerous',
    bad: sb('env:\n  LD_LIBRARY_PATH: /sandbox/lib\n'),
    line: 5,
    at: 'LD_LIBRARY_PATH',
    good: sb('env:\n  LD_BIND_NOW: "1"\n'),
  },
  {
    rule: 'env-secret-name',
    bad: sb('env:\n  GITHUB_TOKEN: abc123\n'),
    line: 5,
    at: 'GITHUB_TOKEN',
    good: sb('env:\n  GITHUB_TOKEN_FILE: /run/secrets/gh\n  TOKENIZER: bpe\n'),
  },
  {
    rule: 'secret-reference',
    bad: sb('secrets:\n  SLACK_TOKEN: not-a-reference\n'),
    line: 5,
    at: 'not-a-reference',
    good: sb('secrets:\n  SLACK_TOKEN: env:SLACK_TOKEN\n  DB_PASSWORD: file:/run/secrets/db\n'),
  },
  {
    rule: 'secret-name-conflict',
    bad: sb('env:\n  TZ: UTC\nsecrets:\n  TZ: env:HOST_TZ\n'),
    line: 7,
    at: 'TZ',
    good: sb('env:\n  TZ: UTC\nsecrets:\n  SLACK_TOKEN: env:SLACK_TOKEN\n'),
  },

  { rule: 'user-root', bad: sb('process:\n  user: 0\n'), line: 5, at: '0', good: sb('process:\n  user: 1001\n') },
  { rule: 'group-root', bad: sb('process:\n  user: sandbox\n  group: 0\n'), line: 6, at: '0', good: sb('process:\n  group: 1001\n') },
  {
    rule: 'seccomp-dangerous-allow',
    bad: sb('process:\n  seccomp:\n    allow: [mlock, bpf]\n'),
    line: 6,
    at: 'bpf',
    good: sb('process:\n  seccomp:\n    allow: [mlock]\n'),
  },
  {
    rule: 'seccomp-unknown-syscall',
    bad: sb('process:\n  seccomp:\n    deny: [open_at]\n'),
    line: 6,
    at: 'open_at',
    good: sb('process:\n  seccomp:\n    deny: [openat]\n'),
  },

  {
    rule: 'docker-image-missing',
    bad: sb('runtime: docker\ncommand: [agent]\n'),
    line: 4,
    at: 'docker',
    good: sb(`runtime: docker\nimage: "ghcr.io/acme/agent@${PINNED}"\n`),
  },
  {
    // The process runtime uses an image as the sandbox's root: pinned like docker's.
    rule: 'image-not-pinned',
    bad: sb('command: [agent]\nimage: ghcr.io/acme/agent:latest\n'),
    line: 5,
    at: 'ghcr.io',
    good: sb(`command: [agent]\nimage: "ghcr.io/acme/agent@${PINNED}"\n`),
  },
  {
    rule: 'image-not-pinned',
    bad: sb('runtime: docker\nimage: ghcr.io/acme/agent:latest\n'),
    line: 5,
    at: 'ghcr.io',
    good: sb('runtime: docker\nimage: ghcr.io/acme/agent:1.2\n'),
  },
  {
    rule: 'preset-unknown',
    bad: sb('network:\n  presets: [github, pipy]\n'),
    line: 5,
    at: 'pipy',
    good: sb('network:\n  presets: [github, pypi]\n'),
  },
  { rule: 'blueprint-unknown', bad: sb('blueprint: openclow\n'), line: 4, at: 'openclow', good: sb('blueprint: openclaw@1\n') },

  {
    rule: 'inference-provider-unknown',
    bad: yaml(`
      version: 1
      sandboxes:
        a:
          inference: { provider: nvdia }
      inference:
        providers:
          nvidia: { api: openai, endpoint: "https://integrate.api.nvidia.com/v1", model: m, credential: "env:NVIDIA_API_KEY" }
    `),
    line: 4,
    at: 'nvdia',
    good: yaml(`
      version: 1
      sandboxes:
        a:
          inference: { provider: nvidia }
      inference:
        providers:
          nvidia: { api: openai, endpoint: "https://integrate.api.nvidia.com/v1", model: m, credential: "env:NVIDIA_API_KEY" }
    `),
  },
  {
    rule: 'provider-endpoint-insecure',
    bad: yaml(`
      version: 1
      sandboxes: {}
      inference:
        providers:
          local:
            api: openai
            endpoint: http://models.example:8000/v1
            model: m
            credential: env:KEY
    `),
    line: 7,
    at: 'http://',
    good: yaml(`
      version: 1
      sandboxes: {}
      inference:
        providers:
          local:
            api: openai
            endpoint: https://models.example:8000/v1
            model: m
            credential: env:KEY
    `),
  },
  {
    rule: 'provider-credential-missing',
    bad: yaml(`
      version: 1
      sandboxes: {}
      inference:
        providers:
          local: { api: openai, endpoint: "https://models.example/v1", model: m }
    `),
    line: 5,
    at: 'local',
    good: yaml(`
      version: 1
      sandboxes: {}
      inference:
        providers:
          local: { api: openai, endpoint: "https://models.example/v1", model: m, credential: "file:/etc/nemoclaw/keys/local" }
    `),
  },
  {
    rule: 'inference-provider-not-allowed',
    bad: yaml(`
      version: 1
      sandboxes:
        a:
          command: [/bin/true]
          inference: { provider: one, fallback: [two] }
      inference:
        providers:
          one: { api: openai, endpoint: "https://one.example/v1", model: m, credential: "env:ONE_KEY" }
          two: { api: openai, endpoint: "https://two.example/v1", model: m, credential: "env:TWO_KEY" }
    `),
    line: 5,
    at: 'two]',
    good: yaml(`
      version: 1
      sandboxes:
        a:
          command: [/bin/true]
          inference: { provider: one, providers: [two], fallback: [two] }
      inference:
        providers:
          one: { api: openai, endpoint: "https://one.example/v1", model: m, credential: "env:ONE_KEY" }
          two: { api: openai, endpoint: "https://two.example/v1", model: m, credential: "env:TWO_KEY" }
    `),
  },
  {
    rule: 'inference-not-local',
    bad: yaml(`
      version: 1
      sandboxes:
        a:
          command: [/bin/true]
          inference: { provider: cloud, local_only: true }
      inference:
        providers:
          cloud: { api: openai, endpoint: "https://one.example/v1", model: m, credential: "env:ONE_KEY" }
    `),
    line: 5,
    at: 'true',
    good: yaml(`
      version: 1
      sandboxes:
        a:
          command: [/bin/true]
          inference: { provider: ollama, local_only: true }
      inference:
        providers:
          ollama: { api: openai, endpoint: "https://127.0.0.1:11434/v1", model: llama3.2, credential: "env:ONE_KEY" }
    `),
  },
  {
    rule: 'credential-format',
    bad: yaml(`
      version: 1
      sandboxes: {}
      inference:
        providers:
          local: { api: openai, endpoint: "https://models.example/v1", model: m, credential: "NVIDIA_API_KEY" }
    `),
    line: 5,
    at: '"NVIDIA_API_KEY"',
    good: yaml(`
      version: 1
      sandboxes: {}
      inference:
        providers:
          local: { api: openai, endpoint: "https://models.example/v1", model: m, credential: "env:NVIDIA_API_KEY" }
    `),
  },

  {
    rule: 'port-host-invalid',
    bad: sb('command: [/bin/true]\nnetwork: { listen: [80] }\nports: [{ host: "nowhere", sandbox: 80 }]\n'),
    line: 6,
    at: '"nowhere"',
    good: sb('command: [/bin/true]\nnetwork: { listen: [80] }\nports: [{ host: "127.0.0.1:8080", sandbox: 80 }]\n'),
  },
  {
    rule: 'port-published-beyond-loopback',
    bad: sb('command: [/bin/true]\nnetwork: { listen: [80] }\nports: [{ host: "0.0.0.0:8080", sandbox: 80 }]\n'),
    line: 6,
    at: '"0.0.0.0:8080"',
    good: sb('command: [/bin/true]\nnetwork: { listen: [80] }\nports: [{ host: "127.0.0.1:8080", sandbox: 80 }]\n'),
  },
  {
    rule: 'port-not-listened',
    bad: sb('command: [/bin/true]\nnetwork: { listen: [80] }\nports: [{ host: "127.0.0.1:8080", sandbox: 81 }]\n'),
    line: 6,
    at: '81',
    good: sb('command: [/bin/true]\nnetwork: { listen: [81] }\nports: [{ host: "127.0.0.1:8080", sandbox: 81 }]\n'),
  },
  {
    rule: 'port-published-twice',
    bad: yaml(`
      version: 1
      sandboxes:
        a:
          command: [/bin/true]
          network: { listen: [80] }
          ports: [{ host: "127.0.0.1:8080", sandbox: 80 }]
        b:
          command: [/bin/true]
          network: { listen: [80] }
          ports: [{ host: "127.0.0.1:8080", sandbox: 80 }]
    `),
    line: 10,
    at: '"127.0.0.1:8080"',
    good: yaml(`
      version: 1
      sandboxes:
        a:
          command: [/bin/true]
          network: { listen: [80] }
          ports: [{ host: "127.0.0.1:8080", sandbox: 80 }]
        b:
          command: [/bin/true]
          network: { listen: [80] }
          ports: [{ host: "127.0.0.1:8081", sandbox: 80 }]
    `),
  },
  {
    rule: 'lint-suppress-error',
    bad: yaml('version: 1\nsandboxes: {}\nlint:\n  suppress: [endpoint-shadowed, user-root]\n'),
    line: 4,
    at: 'user-root',
    good: yaml('version: 1\nsandboxes: {}\nlint:\n  suppress: [endpoint-shadowed]\n'),
  },
  {
    rule: 'lint-suppress-unknown',
    bad: yaml('version: 1\nsandboxes: {}\nlint:\n  suppress: [landlock-best-efort]\n'),
    line: 4,
    at: 'landlock-best-efort',
    good: sb('filesystem:\n  landlock: best_effort\n') + 'lint:\n  suppress: [landlock-best-effort]\n',
  },
];

describe('lint rules: one failing and one passing case each', () => {
  for (const c of CASES) {
    it(c.rule, () => {
      const bad = lint(c.bad, c.ctx);
      const lineText = c.bad.split('\n')[c.line - 1]!;
      const column = lineText.indexOf(c.at) + 1;
      assert.ok(column > 0, `test bug: ${JSON.stringify(c.at)} is not on line ${c.line}: ${lineText}`);
      const d = expectOne(bad, c.rule, c.line, column);
      assert.equal(d.severity, RULES[c.rule as keyof typeof RULES].severity);
      assert.equal(d.file, 'nemoclaw.yaml');
      assert.ok(d.message.length > 0 && d.hint, 'every lint finding has a message and a hint');
      assert.ok(d.pointer.startsWith('/'), 'lint findings point into the document');
      // The passing variant is clean altogether, not just free of this rule.
      assert.deepEqual(lint(c.good, c.ctx), []);
    });
  }

  it('covers every semantic rule in the catalogue', () => {
    const lintRules = Object.entries(RULES)
      .filter(([, m]) => m.stage === 'lint')
      .map(([id]) => id)
      .sort();
    assert.deepEqual([...new Set(CASES.map((c) => c.rule))].sort(), lintRules);
  });
});
