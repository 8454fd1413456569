import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { examplesDir } from '../../src/util/package-paths.js';
import { tempFiles } from '../helpers/tmp.js';

const BASE = `version: 1
sandboxes:
  agent:
    command: [/bin/sh, -c, "sleep 1"]
    filesystem:
      read_only: [/usr, /lib]
      read_write: [/tmp]
    process:
      seccomp: { deny: [ptrace] }
    network:
      presets: [github]
      egress:
        - name: slack
          endpoints:
            - { host: Slack.COM., port: 443 }
            - { host: "*.bücher.example", port: 8080, methods: [POST, GET], paths: ["/api/**"] }
      allowed_ips: [10.1.0.0/16, "FD00:0:0::/8"]
    env: { TZ: UTC, A: b }
`;

async function compileText(t: Parameters<typeof tempFiles>[0], text: string) {
  const dir = tempFiles(t, { 'nemoclaw.yaml': text });
  return loadCompile(join(dir, 'nemoclaw.yaml'), 'update');
}

test('same input gives identical bytes and digests', async (t) => {
  const dir = tempFiles(t, { 'nemoclaw.yaml': BASE });
  const a = await loadCompile(join(dir, 'nemoclaw.yaml'), 'update');
  const b = await loadCompile(join(dir, 'nemoclaw.yaml'), 'update');
  assert.deepEqual(a.output.sandboxes[0]!.files, b.output.sandboxes[0]!.files);
  assert.equal(a.output.indexFile, b.output.indexFile);
  assert.match(a.output.sandboxes[0]!.digest, /^sha256:[0-9a-f]{64}$/);
});

test('comments, key order and formatting never change a digest', async (t) => {
  const reordered = `# a comment
sandboxes:
  agent:   # trailing comment
    env: { A: b, TZ: UTC }
    network:
      allowed_ips: ["10.1.0.0/16", "FD00:0:0::/8"]
      egress:
        - endpoints:
            - port: 443
              host: Slack.COM.
            - { paths: ["/api/**"], methods: [POST, GET], port: 8080, host: "*.bücher.example" }
          name: slack
      presets: [github]
    process: { seccomp: { deny: [ptrace] } }
    filesystem: { read_write: [/tmp], read_only: [/usr, /lib] }
    command: [/bin/sh, -c, "sleep 1"]
version: 1
`;
  const a = await compileText(t, BASE);
  const b = await compileText(t, reordered);
  assert.equal(a.output.sandboxes[0]!.digest, b.output.sandboxes[0]!.digest);
});

test('changing one egress rule changes only egress.json, the manifest and the digest', async (t) => {
  const a = (await compileText(t, BASE)).output.sandboxes[0]!;
  const b = (await compileText(t, BASE.replace('port: 8080', 'port: 8081'))).output.sandboxes[0]!;
  const changed = Object.keys(a.files)
    .filter((f) => a.files[f as keyof typeof a.files] !== b.files[f as keyof typeof b.files])
    .sort();
  assert.deepEqual(changed, ['egress.json', 'manifest.json']);
  assert.notEqual(a.digest, b.digest);
});

test('egress rules are normalized: lower case, IDNA, trailing dot, presets named, CIDRs normalized', async (t) => {
  const e = (await compileText(t, BASE)).output.sandboxes[0]!.artifacts.egress;
  assert.deepEqual(
    e.rules.map((r) => r.name),
    ['preset:github', 'slack'],
  );
  assert.equal(e.rules[0]!.source, 'preset:github@1');
  const slack = e.rules[1]!.endpoints;
  assert.deepEqual(slack[0], { host: 'slack.com', wildcard: false, port: 443, protocol: 'https', methods: null, paths: null });
  assert.deepEqual(slack[1], {
    host: 'xn--bcher-kva.example',
    wildcard: true,
    port: 8080,
    protocol: 'http',
    methods: ['GET', 'POST'],
    paths: ['/api/**'],
  });
  assert.deepEqual(e.allowed_ips, ['10.1.0.0/16', 'fd00::/8']);
  assert.equal(e.default, 'deny');
  assert.equal(e.on_deny, 'deny');
});

test('sandbox.json has numeric identity, sorted mounts with the workdir, no proxy vars', async (t) => {
  const s = (await compileText(t, BASE)).output.sandboxes[0]!.artifacts;
  assert.deepEqual(s.sandbox.user, { uid: 1000, gid: 1000 });
  assert.deepEqual(s.sandbox.mounts, [
    { target: '/lib', mode: 'ro' },
    { target: '/sandbox', mode: 'rw' },
    { target: '/tmp', mode: 'rw' },
    { target: '/usr', mode: 'ro' },
  ]);
  assert.deepEqual(Object.keys(s.sandbox.env), ['A', 'TZ']);
  assert.equal(s.sandbox.network.mode, 'gateway');
  assert.equal(s.sandbox.limits.memory_bytes, 2 * 2 ** 30);
  assert.deepEqual(s.landlock.net_rules, [{ port: 3128, access: ['connect_tcp'] }]);
  const tmp = s.landlock.path_rules.find((r) => r.path === '/tmp')!;
  assert.ok(tmp.access.includes('write_file') && !tmp.access.includes('execute'), 'read_write is not executable by default');
  const usr = s.landlock.path_rules.find((r) => r.path === '/usr')!;
  assert.deepEqual(usr.access, ['execute', 'read_file', 'read_dir']);
  assert.equal(s.landlock.abi_floor, 4);
});

test('a sandbox without egress has no network and no TCP rule', async (t) => {
  const s = (await compileText(t, 'version: 1\nsandboxes:\n  x:\n    command: [/bin/true]\n')).output.sandboxes[0]!.artifacts;
  assert.equal(s.sandbox.network.mode, 'none');
  assert.deepEqual(s.landlock.net_rules, []);
  assert.deepEqual(s.egress.rules, []);
});

test('a blueprint is extended and overridden by the entry', async (t) => {
  const c = await compileText(
    t,
    `version: 1
sandboxes:
  a:
    blueprint: openclaw@1
    command: [/bin/true]
    filesystem: { read_write: [/data] }
    process: { limits: { pids: 99 } }
`,
  );
  const s = c.output.sandboxes[0]!.artifacts;
  assert.deepEqual(s.sandbox.command, ['/bin/true']);
  assert.equal(s.sandbox.limits.pids, 99);
  assert.equal(s.sandbox.limits.nofile, 4096, 'blueprint value kept');
  const rw = s.sandbox.mounts.filter((m) => m.mode === 'rw').map((m) => m.target);
  assert.deepEqual(rw, ['/data', '/sandbox', '/tmp'], 'read_write lists are unions');
  assert.deepEqual(s.manifest.blueprint?.name, 'openclaw');
  assert.equal(s.manifest.blueprint?.version, 1);
  assert.equal(c.neededLock.blueprints.openclaw?.version, 1);
});

test('the npm preset takes its host from the npm registry fact, pinned in the lock', async (t) => {
  const prev = process.env.NEMOCLAW_NPM_REGISTRY;
  process.env.NEMOCLAW_NPM_REGISTRY = 'https://registry.example.test:8443/npm';
  t.after(() => {
    if (prev === undefined) delete process.env.NEMOCLAW_NPM_REGISTRY;
    else process.env.NEMOCLAW_NPM_REGISTRY = prev;
  });
  const c = await compileText(t, 'version: 1\nsandboxes:\n  x:\n    command: [/bin/true]\n    network: { presets: [npm] }\n');
  const ep = c.output.sandboxes[0]!.artifacts.egress.rules[0]!.endpoints[0]!;
  assert.equal(ep.host, 'registry.example.test');
  assert.equal(ep.port, 8443);
  assert.equal(c.neededLock.facts.npm_registry, 'https://registry.example.test:8443/npm/');
});

test('provenance is recorded in the manifest but is not part of the digest', async (t) => {
  const c = (await compileText(t, BASE)).output.sandboxes[0]!;
  assert.equal(c.artifacts.manifest.digest, c.digest);
  assert.equal(c.artifacts.manifest.source.git_commit, null);
  assert.match(c.artifacts.manifest.source.file, /nemoclaw\.yaml$/);
  assert.equal(Object.keys(c.artifacts.manifest.artifacts).length, 4);
});

test('every example compiles against its committed lock', async () => {
  for (const name of readdirSync(examplesDir)) {
    const c = await loadCompile(join(examplesDir, name, 'nemoclaw.yaml'), 'check');
    assert.ok(c.output.sandboxes.length > 0, name);
  }
});
