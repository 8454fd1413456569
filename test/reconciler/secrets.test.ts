// Secrets stay outside the sandbox's boundary: a full run (compile, plan text/markdown/json, a
// saved plan applied, status, explain, logs, audit) with distinctive values, then every output,
// the compiled artifacts, the state directory, the audit log, docker inspect and every process's
// argv are searched for them. The agent itself does see its `secrets:` (it prints their sha256).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireCapability } from '../helpers/capability.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';
import { cli, env, fetchLoop, httpServer, status, until, type Env } from './harness.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const distinct = (what: string) => `nc-${what}-${randomBytes(16).toString('hex')}`;

/** Regular files under DIR (sockets and FIFOs are skipped: reading a FIFO would block). */
function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(...files(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

function assertNowhere(values: Record<string, string>, where: Record<string, string>): void {
  for (const [what, v] of Object.entries(values))
    for (const [place, text] of Object.entries(where)) assert.ok(!text.includes(v), `${what} leaked into ${place}`);
}

/** Scans every file in chunks: a sandbox's own disk image (sparse, 1 GiB) is too big to read whole. */
function assertNotInFiles(values: Record<string, string>, dir: string): void {
  const all = files(dir);
  assert.ok(all.length > 0, `${dir} has files`);
  const needles = Object.entries(values).map(([what, v]) => [what, Buffer.from(v)] as const);
  const overlap = Math.max(...needles.map(([, n]) => n.length));
  const chunk = Buffer.alloc(8 << 20);
  for (const f of all) {
    const fd = openSync(f, 'r');
    try {
      let carry = Buffer.alloc(0);
      for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) {
        const window = Buffer.concat([carry, chunk.subarray(0, n)]);
        for (const [what, needle] of needles) assert.ok(!window.includes(needle), `${what} leaked into ${f}`);
        carry = window.subarray(Math.max(0, window.length - overlap));
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** Every process's argv on this host (the daemon, inits, agents, docker): none may carry a secret. */
function allArgv(): string {
  let out = '';
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      out += readFileSync(`/proc/${d}/cmdline`, 'latin1') + '\n';
    } catch {
      /* gone */
    }
  }
  return out;
}

function assertPrivateArtifacts(out: string, name: string): void {
  assert.equal(statSync(join(out, name)).mode & 0o777, 0o700, 'the sandbox artifact directory is 0700');
  for (const f of readdirSync(join(out, name))) assert.equal(statSync(join(out, name, f)).mode & 0o777, 0o600, `${f} is 0600`);
}

interface Run {
  outputs: Record<string, string>;
}

/** compile → plan (text, markdown, json, saved) → apply the saved plan → status, explain, logs, audit. */
async function fullRun(e: Env, name: string, hostEnv: Record<string, string>): Promise<Run> {
  const run = (...args: string[]) => cli([...args, '--state-dir', e.state], hostEnv);
  const plain = (...args: string[]) => cli(args, hostEnv); // commands without a state directory
  const outputs: Record<string, string> = {};
  const keep = (what: string, r: { status: number | null; stdout: string; stderr: string }, ok = true) => {
    if (ok) assert.equal(r.status, 0, `${what}: ${r.stderr}${r.stdout}`);
    outputs[what] = r.stdout + r.stderr;
    return r.stdout;
  };
  keep('lint', await plain('lint', '-f', e.file), false);
  keep('lint json', await plain('lint', '-f', e.file, '--format', 'json'), false);
  keep('validate', await plain('validate', '-f', e.file), false);
  keep('plan text', await run('plan', '-f', e.file));
  keep('plan markdown', await run('plan', '-f', e.file, '--format', 'markdown'));
  const json = keep('plan json', await run('plan', '-f', e.file, '--format', 'json'));
  assert.equal(JSON.parse(json).format_version, 1);
  const saved = join(e.dir, 'plan.json');
  keep('plan --out', await run('plan', '-f', e.file, '--out', saved));
  outputs['saved plan'] = readFileSync(saved, 'utf8');
  keep('apply saved plan', await run('apply', saved, '--auto-approve'));
  keep('status', await run('status', '-f', e.file));
  keep('status json', await run('status', '--json'));
  const explain = keep('explain', await plain('explain', name, '-f', e.file));
  keep('explain json', await plain('explain', name, '-f', e.file, '--json'));
  assert.match(
    explain,
    /Secrets the agent can read in its environment: DB_PASSWORD \(from file:\/[^)]+\), SERVICE_TOKEN \(from env:HOST_SERVICE_TOKEN\)/,
  );
  return { outputs };
}

const SECRETS_YAML = (dbFile: string, envToken: string) => `    env:
      TZ: UTC
      API_TOKEN: ${envToken}
    secrets:
      SERVICE_TOKEN: env:HOST_SERVICE_TOKEN
      DB_PASSWORD: file:${dbFile}
`;
// The agent proves it holds both secrets without ever printing them.
const SHOW = 'printf %s "$SERVICE_TOKEN" | sha256sum; printf %s "$DB_PASSWORD" | sha256sum; env | grep -c NOPE_NOT_SET';

test('process runtime: secrets reach the agent and nothing else; env secrets are redacted in every output', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const web = await httpServer(t);
  const serviceToken = distinct('svc');
  const dbPassword = distinct('db');
  const envToken = distinct('envtok');
  const dbFile = join(e.dir, 'db-password');
  writeFileSync(dbFile, dbPassword + '\n', { mode: 0o600 });
  const cfg = (token: string) =>
    `version: 1
sandboxes:
  vault:
    runtime: process
    command: [/bin/sh, -c, ${JSON.stringify(`${SHOW}; ${fetchLoop([web.port])}`)}]
    filesystem:
      read_only: [/usr, /bin, /lib, /lib64, /etc]
      read_write: [/tmp]
    process:
      limits: { pids: 64, nofile: 256 }
    network:
      egress:
        - name: local
          endpoints:
            - { host: localhost, port: ${web.port}, protocol: http }
${SECRETS_YAML(dbFile, token)}`;
  await e.write(cfg(envToken));
  const out = join(e.dir, 'out');
  assertPrivateArtifacts(out, 'vault');
  const sandboxJson = JSON.parse(readFileSync(join(out, 'vault', 'sandbox.json'), 'utf8'));
  assert.deepEqual(sandboxJson.secrets, { DB_PASSWORD: `file:${dbFile}`, SERVICE_TOKEN: 'env:HOST_SERVICE_TOKEN' });

  const hostEnv = { HOST_SERVICE_TOKEN: serviceToken };
  const { outputs } = await fullRun(e, 'vault', hostEnv);
  assert.match(outputs['plan json']!, /\\"API_TOKEN\\":\\"\(sensitive value\)\\"/, 'the blueprint in the json plan is redacted');
  assert.match(outputs['plan text']!, /vault may read the secret SERVICE_TOKEN/);

  // Inside, the agent has both values, exactly.
  const logs = async () => (await e.run('logs', 'vault')).stdout;
  await until(async () => (await logs()).includes(sha(dbPassword)), 'the agent to print the hash of its secrets');
  const l = await logs();
  assert.ok(l.includes(sha(serviceToken)), 'the agent sees SERVICE_TOKEN');
  await until(() => web.hits() > 0, 'the agent to reach its endpoint (audit records)');
  outputs.logs = l;
  const audit = await e.run('audit', '--json');
  assert.match(audit.stdout, /"sandbox":"vault"/);
  outputs.audit = audit.stdout;

  // A changed env secret shows as changed, never as either value.
  const newEnvToken = distinct('envtok2');
  await e.write(cfg(newEnvToken));
  const changed = await e.run('plan', '-f', e.file);
  assert.match(changed.stdout, /-\s+"API_TOKEN": "\(sensitive value\)"/);
  assert.match(changed.stdout, /\+\s+"API_TOKEN": "\(sensitive value, changed\)"/);
  outputs['plan of a changed env secret'] = changed.stdout + changed.stderr;
  outputs['plan markdown of a changed env secret'] = (await e.run('plan', '-f', e.file, '--format', 'markdown')).stdout;
  outputs['plan json of a changed env secret'] = (await e.run('plan', '-f', e.file, '--format', 'json')).stdout;

  const secrets = { serviceToken, dbPassword };
  assertNowhere({ ...secrets, envToken, newEnvToken }, outputs);
  assertNotInFiles(secrets, out);
  assertNotInFiles(secrets, e.state);
  for (const f of files(join(e.state, 'blueprints'))) assert.equal(statSync(f).mode & 0o777, 0o600, `${f} is 0600`);
  assertNowhere(secrets, { 'argv of every process': allArgv() });
});

test('process runtime: a missing secret stops the sandbox from starting, naming the secret', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  const dbFile = join(e.dir, 'absent');
  await e.write(`version: 1
sandboxes:
  vault:
    runtime: process
    command: [/bin/sh, -c, 'sleep 60']
    filesystem:
      read_only: [/usr, /bin, /lib, /lib64]
${SECRETS_YAML(dbFile, distinct('envtok'))}`);
  const noEnv = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.notEqual(noEnv.status, 0);
  assert.match(noEnv.stderr, /sandbox "vault" cannot start:/);
  assert.match(noEnv.stderr, /secret SERVICE_TOKEN: the environment variable HOST_SERVICE_TOKEN is not set/);
  assert.match(noEnv.stderr, new RegExp(`secret DB_PASSWORD: cannot read ${dbFile} \\(ENOENT\\)`));
  const s = await status(e);
  assert.notEqual(s.sandboxes.find((x) => x.name === 'vault')?.state, 'running');
});

test('docker runtime: secrets reach the agent through the spec FIFO, never the container config or the disk', async (t) => {
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return;
  const id = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();
  const e = env(t);
  const mine = () =>
    execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', 'label=dev.nemoclaw.sandbox=dvault'], { encoding: 'utf8' })
      .split('\n')
      .filter((c) => c && execFileSync('docker', ['inspect', c], { encoding: 'utf8' }).includes(e.state));
  t.after(() => {
    for (const c of mine()) execFileSync('docker', ['rm', '-f', c]);
  });
  const serviceToken = distinct('svc');
  const dbPassword = distinct('db');
  const envToken = distinct('envtok');
  const dbFile = join(e.dir, 'db-password');
  writeFileSync(dbFile, dbPassword, { mode: 0o600 });
  await e.write(`version: 1
sandboxes:
  dvault:
    runtime: docker
    image: nemoclaw-test/busybox@${id}
    command: [/bin/sh, -c, ${JSON.stringify(`${SHOW}; while true; do sleep 1; done`)}]
    filesystem:
      read_only: [/bin]
${SECRETS_YAML(dbFile, envToken)}`);
  const out = join(e.dir, 'out');
  assertPrivateArtifacts(out, 'dvault');

  const { outputs } = await fullRun(e, 'dvault', { HOST_SERVICE_TOKEN: serviceToken });
  const logs = async () => (await e.run('logs', 'dvault')).stdout;
  await until(async () => (await logs()).includes(sha(dbPassword)), 'the agent to print the hash of its secrets');
  assert.ok((await logs()).includes(sha(serviceToken)), 'the agent sees SERVICE_TOKEN');
  outputs.logs = await logs();
  outputs.audit = (await e.run('audit', '--json')).stdout;

  const [container] = mine();
  assert.ok(container, 'the container runs');
  const inspect = execFileSync('docker', ['inspect', container!], { encoding: 'utf8' });
  outputs['docker inspect'] = inspect;
  assert.equal(JSON.parse(inspect)[0].HostConfig.RestartPolicy.Name, 'no', 'Docker must not restart it without its secrets');
  const spec = readdirSync(e.state, { recursive: true })
    .map(String)
    .find((p) => p.endsWith(join('docker', 'spec')));
  assert.ok(spec && lstatSync(join(e.state, spec)).isFIFO(), 'the spec is a FIFO, not a file');

  // Docker does not restart it alone; the next apply re-creates it and hands the secrets over again.
  execFileSync('docker', ['kill', container!]);
  const healed = await cli(['apply', '-f', e.file, '--auto-approve', '--state-dir', e.state], { HOST_SERVICE_TOKEN: serviceToken });
  assert.equal(healed.status, 0, healed.stderr + healed.stdout);
  assert.match(healed.stdout, /replace:[\s\S]*drift:/);
  outputs['apply that heals'] = healed.stdout + healed.stderr;
  assert.notEqual(mine()[0], container);
  await until(async () => (await logs()).includes(sha(serviceToken)), 'the re-created agent to print the hash of its secret');

  const secrets = { serviceToken, dbPassword };
  assertNowhere({ ...secrets, envToken }, outputs);
  assertNotInFiles(secrets, out);
  assertNotInFiles(secrets, e.state);
  assertNowhere(secrets, { 'argv of every process': allArgv() });
});
