// The seccomp profile Docker loads for a docker sandbox started as root (issue 14, break 4): the
// agent's profile plus the init's identity/capability/confinement calls, and unshare/setns only
// with exactly CLONE_NEWUSER; the container config around it (root, three capabilities, no net).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSeccomp, type SeccompProfile } from '../../src/compiler/seccomp.js';
import { containerSpec } from '../../src/reconciler/drivers/docker.js';
import { CLONE_NEWUSER, containerSeccompProfile, INIT_SYSCALLS } from '../../src/reconciler/drivers/docker-seccomp.js';
import { compileSeccompBpf, libseccompAvailable } from '../../src/runtime/seccomp-bpf.js';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { join } from 'node:path';
import { tempDir, tempFiles } from '../helpers/tmp.js';

type Rule = SeccompProfile['syscalls'][number];
const rulesFor = (p: SeccompProfile, name: string): Rule[] => p.syscalls.filter((r) => r.names.includes(name));
const allowedUnconditionally = (p: SeccompProfile, name: string) =>
  rulesFor(p, name).some((r) => r.action === 'SCMP_ACT_ALLOW' && (r.args ?? []).length === 0);

for (const base of ['default', 'strict'] as const) {
  test(`docker userns profile (${base}): the agent's rules plus the init's calls; unshare/setns only with CLONE_NEWUSER`, () => {
    const agent = compileSeccomp({ base, deny: [], allow: [] });
    const p = containerSeccompProfile(agent);
    assert.equal(p.defaultAction, agent.defaultAction);
    assert.equal(p.defaultErrnoRet, agent.defaultErrnoRet);
    assert.deepEqual(p.architectures, agent.architectures);
    for (const name of INIT_SYSCALLS) assert.ok(allowedUnconditionally(p, name), `${name} is allowed`);
    for (const [name, index] of [
      ['unshare', 0],
      ['setns', 1],
    ] as const) {
      assert.ok(!allowedUnconditionally(agent, name), `the ${base} base does not allow ${name}`);
      assert.deepEqual(rulesFor(p, name), [
        { names: [name], action: 'SCMP_ACT_ALLOW', args: [{ index, value: CLONE_NEWUSER, op: 'SCMP_CMP_EQ' }] },
      ]);
    }
    // Everything the agent may call, it may still call; every conditional rule is kept as it was.
    for (const r of agent.syscalls) {
      if (r.action === 'SCMP_ACT_ALLOW' && !(r.args ?? []).length) for (const n of r.names) assert.ok(allowedUnconditionally(p, n), n);
      else
        for (const n of r.names)
          if (!INIT_SYSCALLS.includes(n))
            assert.ok(
              rulesFor(p, n).some((q) => JSON.stringify({ ...q, names: [] }) === JSON.stringify({ ...r, names: [] })),
              n,
            );
    }
    // Nothing else is added: the only names beyond the agent's are the init's and the two userns calls.
    const names = (q: SeccompProfile) => new Set(q.syscalls.flatMap((r) => r.names));
    const extra = [...names(p)].filter((n) => !names(agent).has(n)).sort();
    assert.deepEqual(extra, [...INIT_SYSCALLS.filter((n) => !names(agent).has(n)), 'setns', 'unshare'].sort());
    // Docker (libseccomp) must accept it: no call with two actions for one argument set.
    if (libseccompAvailable().ok) assert.ok(compileSeccompBpf(p).bpf.length > 0);
  });
}

test("docker userns profile: the init's calls stay allowed when the agent's profile denies them; an agent allowed unshare keeps it", () => {
  const denied = containerSeccompProfile(compileSeccomp({ base: 'default', deny: ['setresuid', 'capset', 'prctl'], allow: [] }));
  for (const n of ['setresuid', 'capset', 'prctl']) assert.ok(allowedUnconditionally(denied, n), n);
  // The agent's own filter (stacked on top in the container) still denies them to the agent.
  const allowed = containerSeccompProfile(compileSeccomp({ base: 'strict', deny: [], allow: ['unshare'] }));
  assert.ok(allowedUnconditionally(allowed, 'unshare'));
  assert.equal(rulesFor(allowed, 'unshare').length, 1, 'no narrower rule beside the unconditional one');
  assert.equal(rulesFor(allowed, 'setns')[0]?.args?.[0]?.value, CLONE_NEWUSER);
  if (libseccompAvailable().ok) {
    compileSeccompBpf(denied);
    compileSeccompBpf(allowed);
  }
});

test('docker container config: as root, starts as 0:0 with SETUID/SETGID/SETPCAP only and the userns profile; no network', async (t) => {
  const dir = tempFiles(t, {
    'nemoclaw.yaml': `version: 1\nsandboxes:\n  box:\n    runtime: docker\n    image: nemoclaw-test/busybox@sha256:${'a'.repeat(64)}\n    command: [/bin/true]\n    filesystem: { read_only: [/bin] }\n`,
  });
  const sb = (await loadCompile(join(dir, 'nemoclaw.yaml'), 'update')).output.sandboxes[0]!;
  const spec = containerSpec(tempDir(t), sb, 'img');
  const host = spec.HostConfig!;
  assert.equal(host.NetworkMode, 'none');
  assert.deepEqual(host.CapDrop, ['ALL']);
  assert.ok(host.SecurityOpt?.includes('no-new-privileges:true'));
  const seccomp = JSON.parse(host.SecurityOpt!.find((o: string) => o.startsWith('seccomp='))!.slice('seccomp='.length)) as SeccompProfile;
  if (process.getuid?.() === 0) {
    assert.equal(spec.User, '0:0');
    assert.deepEqual(host.CapAdd, ['SETUID', 'SETGID', 'SETPCAP']);
    assert.deepEqual(seccomp, containerSeccompProfile(sb.artifacts.seccomp));
  } else {
    assert.equal(spec.User, `${sb.artifacts.sandbox.user.uid}:${sb.artifacts.sandbox.user.gid}`);
    assert.equal(host.CapAdd, undefined);
    assert.deepEqual(seccomp, sb.artifacts.seccomp);
  }
});
