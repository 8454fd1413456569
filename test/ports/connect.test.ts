// nemoclaw connect (embedded runtime) on the real kernel: the joined command is in the agent's
// namespaces, as its uid, under its Landlock ruleset and seccomp filter, never more.
import assert from 'node:assert/strict';
import { readlinkSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CompiledSandbox } from '../../src/compiler/artifacts.js';
import { joinSandbox } from '../../src/runtime/process/join.js';
import { startSandbox } from '../../src/runtime/process/start.js';
import { tempDir } from '../helpers/tmp.js';
import { compileYaml, requireProcessRuntime } from '../runtime/process-fixture.js';
import { listenYaml } from './fixture.js';

export async function joinedRun(s: CompiledSandbox, stateDir: string, pid: number, command: string[]) {
  const j = joinSandbox({ artifacts: s.artifacts, stateDir, pid, command, stdio: 'pipe' });
  let out = '',
    err = '';
  j.child.stdout?.on('data', (d) => (out += d));
  j.child.stderr?.on('data', (d) => (err += d));
  j.child.stdin?.end();
  const code = await j.exited;
  return { code, out, err };
}

/** Host pid of the agent: the outer init's child (pid 1) has the relay and the agent as children. */
function agentPid(outer: number, command: string): number {
  const kids = (p: number) => readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  for (const pid1 of kids(outer)) for (const k of kids(pid1)) if (readFileSync(`/proc/${k}/cmdline`, 'utf8').startsWith(command)) return k;
  throw new Error('agent not found');
}

test('connect: uid 1000, no /etc/shadow, the agent’s pid namespace, no unlisted bind', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  const s = await compileYaml(dir, listenYaml('conn', [18789]), 'conn');
  const stateDir = join(dir, 'state');
  const sb = await startSandbox({ artifacts: s.artifacts, stateDir, stdio: ['ignore', 'ignore', 'pipe'], command: ['/bin/sleep', '120'] });
  t.after(() => sb.stop(100));

  const id = await joinedRun(s, stateDir, sb.pid, ['/usr/bin/id', '-u']);
  assert.equal(id.code, 0, id.err);
  assert.equal(id.out, '1000\n');

  const shadow = await joinedRun(s, stateDir, sb.pid, ['/bin/cat', '/etc/shadow']);
  assert.notEqual(shadow.code, 0);
  assert.match(shadow.err, /shadow/);

  const ns = await joinedRun(s, stateDir, sb.pid, ['/bin/sh', '-c', 'readlink /proc/self/ns/pid; cat /proc/1/comm']);
  assert.equal(ns.code, 0, ns.err);
  const [pidNs, comm] = ns.out.trim().split('\n');
  assert.equal(pidNs, readlinkSync(`/proc/${agentPid(sb.pid, '/bin/sleep')}/ns/pid`), 'same pid namespace as the agent');
  assert.equal(comm, 'nemoclaw-init', 'pid 1 is the sandbox init, not the host’s');

  const nodeBind = `const s=require('node:net').createServer();s.once('error',e=>{console.log(e.code)});s.listen(Number(process.argv[1]),'127.0.0.1',()=>{console.log('ok');s.close()})`;
  const listed = await joinedRun(s, stateDir, sb.pid, [process.execPath, '-e', nodeBind, '18789']);
  assert.equal(listed.out, 'ok\n', listed.err);
  const unlisted = await joinedRun(s, stateDir, sb.pid, [process.execPath, '-e', nodeBind, '18790']);
  assert.equal(unlisted.out, 'EACCES\n', 'Landlock applies to the joined command');

  const seccomp = await joinedRun(s, stateDir, sb.pid, ['/bin/grep', '-E', '^(Seccomp|NoNewPrivs|CapEff):', '/proc/self/status']);
  assert.match(seccomp.out, /NoNewPrivs:\s+1/);
  assert.match(seccomp.out, /Seccomp:\s+2/);
  assert.match(seccomp.out, /CapEff:\s+0+\n/);
});

test('connect: a pid that is not the sandbox init is refused', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  const s = await compileYaml(dir, listenYaml('conn2', []), 'conn2');
  const r = await joinedRun(s, join(dir, 'state'), process.pid, ['/usr/bin/id']);
  assert.equal(r.code, 125);
  assert.match(r.err, /is not this sandbox's init/);
});
