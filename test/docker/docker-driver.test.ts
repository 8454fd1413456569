// The docker driver against a real Docker engine: Docker loads seccomp.json, the bind-mounted
// init applies Landlock in container mode and reports; the agent's own output shows enforcement.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { dockerDriver } from '../../src/reconciler/drivers/docker.js';
import { registerSandbox } from '../../src/daemon/client.js';
import { runCli } from '../helpers/cli.js';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireCapability } from '../helpers/capability.js';
import { tempDir, tempFiles } from '../helpers/tmp.js';
import { FIRST_HOST_ID } from '../../src/state/uid-ranges.js';
import { compileSeccompBpf } from '../../src/runtime/seccomp-bpf.js';

const PROBE = [
  'cat /.nemoclaw/run/spec >/dev/null 2>&1 && echo READ-RUN-SPEC || echo denied-run-spec',
  'echo hello > /sandbox/ok && echo wrote-sandbox',
  'cp /bin/busybox /sandbox/bb && /sandbox/bb true 2>/dev/null && echo EXEC-SANDBOX || echo denied-exec-sandbox',
  'touch /bin/x 2>/dev/null && echo WROTE-BIN || echo denied-write-bin',
  'unshare -U true 2>/dev/null && echo UNSHARE || echo denied-unshare',
  'echo uid=$(id -u) pid=$$',
  "echo env=$(env | grep -E '^(PATH|HOSTNAME|GREETING)=' | tr '\\n' ,)",
  'echo done; sleep 600',
].join('; ');

/** The local busybox test image's id (pinned by digest in the configs), or undefined when skipped. */
function busyboxImageId(t: TestContext): string | undefined {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return undefined;
  return execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();
}

async function waitForLog(id: string, needle: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const logs = execFileSync('docker', ['logs', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (logs.includes(needle)) return logs;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`"${needle}" never appeared in the container's output`);
}

test('docker driver: create reports enforcement; Landlock and seccomp hold inside; destroy removes by id', async (t) => {
  const id = busyboxImageId(t);
  if (!id) return;
  const config = `version: 1
sandboxes:
  boxed:
    runtime: docker
    image: nemoclaw-test/busybox@${id}
    command: [/bin/sh, -c, ${JSON.stringify(PROBE)}]
    filesystem:
      read_only: [/bin]
    env: { GREETING: hi }
`;
  const dir = tempFiles(t, { 'nemoclaw.yaml': config });
  const compiled = await loadCompile(join(dir, 'nemoclaw.yaml'), 'update');
  const sb = compiled.output.sandboxes[0]!;
  const ctx = { stateDir: tempDir(t) };

  const obs = await dockerDriver.create(ctx, sb);
  t.after(() => dockerDriver.destroy(ctx, 'boxed', obs.id));
  assert.equal(obs.state, 'running');
  assert.equal(obs.digest, sb.digest);
  assert.ok(obs.report, 'the init reported');
  assert.equal(obs.report!.landlock.enforced, true);
  assert.ok(obs.report!.landlock.abi >= 4);
  // The agent sees the configured uid; as root, the host sees an id of the sandbox's own range
  // (docs/security.md, break 4), and the agent stacks its own filter on Docker's.
  const uid = 1000;
  assert.equal(obs.report!.uid, 1000, 'the policy uid');
  if (process.getuid?.() === 0) {
    assert.ok((obs.report!.host_uid ?? 0) >= FIRST_HOST_ID + 1000, 'a host uid of the sandbox range');
    assert.ok(obs.report!.namespaces.includes('user'));
    assert.equal(`sha256:${obs.report!.seccomp.sha256}`, obs.seccomp_digest, 'the agent loaded its own filter');
    assert.equal(obs.seccomp_digest, compileSeccompBpf(sb.artifacts.seccomp).digest);
  } else assert.equal(obs.report!.seccomp.sha256, 'loaded-by-runtime');

  const logs = await waitForLog(obs.id!, 'done');
  assert.match(logs, /denied-run-spec/, 'Landlock: the run directory is outside the policy');
  assert.match(logs, /wrote-sandbox/, 'positive control: the workdir is writable');
  assert.match(logs, /denied-exec-sandbox/, 'Landlock: read_write paths are not executable');
  assert.match(logs, /denied-write-bin/);
  assert.match(logs, /denied-unshare/, 'seccomp: the agent’s profile (Docker’s alone allows unshare(CLONE_NEWUSER) as root)');
  assert.match(logs, new RegExp(`uid=${uid} pid=\\d+`));
  // Docker would set HOSTNAME and PATH=/usr/local/sbin:…; busybox sh sets its own PATH when none is given.
  const env = /env=(.*)\n/.exec(logs)![1]!;
  assert.match(env, /GREETING=hi,/);
  assert.doesNotMatch(env, /HOSTNAME|\/usr\/local/, 'exactly the spec env: nothing Docker set');

  const seen = await dockerDriver.observe(ctx);
  assert.ok(seen.known);
  assert.equal(seen.sandboxes.get('boxed')?.id, obs.id);
  await dockerDriver.destroy(ctx, 'boxed', obs.id);
  assert.deepEqual(await dockerDriver.observe(ctx), { known: true, sandboxes: new Map() });
});

test('docker driver: the relay inside the container reaches the gateway; allowed host works, others get the 403', async (t) => {
  const id = busyboxImageId(t);
  if (!id) return;
  // An upstream on the host's loopback: reachable only because the daemon runs with the loudly
  // reported test hook that lets the gateway dial loopback.
  const server = createServer((_req, res) => res.end('hello-from-upstream'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const agent = [
    `wget -q -O - http://localhost:${port}/ && echo; echo allowed=$?`,
    `wget -q -O - http://localhost:${port + 1}/ 2>&1; echo denied=$?`,
    'echo done; sleep 600',
  ].join('; ');
  const config = `version: 1
sandboxes:
  netbox:
    runtime: docker
    image: nemoclaw-test/busybox@${id}
    command: [/bin/sh, -c, ${JSON.stringify(agent)}]
    filesystem: { read_only: [/bin] }
    network:
      egress:
        - name: upstream
          endpoints: [{ host: localhost, port: ${port}, protocol: http }]
`;
  const dir = tempFiles(t, { 'nemoclaw.yaml': config });
  const state = tempDir(t);
  const hooks = { ...process.env, NEMOCLAW_GATEWAY_TEST_ALLOW_LOOPBACK: '1' };
  assert.equal(runCli(['gateway', '--detach', '--state-dir', state], { env: hooks }).status, 0);
  t.after(() => {
    runCli(['gateway', 'stop', '--state-dir', state]);
  });
  const compiled = (await loadCompile(join(dir, 'nemoclaw.yaml'), 'update')).output.sandboxes[0]!;
  await registerSandbox(state, 'netbox', Buffer.from(compiled.files['egress.json']));

  const obs = await dockerDriver.create({ stateDir: state }, compiled);
  t.after(() => dockerDriver.destroy({ stateDir: state }, 'netbox', obs.id));
  assert.equal(obs.report?.network.relay, true);
  const logs = await waitForLog(obs.id!, 'done');
  assert.match(logs, /hello-from-upstream\nallowed=0/, 'through relay → gateway → upstream');
  assert.match(logs, /denied=[1-9]/, 'a port without a rule is refused');
  assert.doesNotMatch(logs, /denied=0/);
});
