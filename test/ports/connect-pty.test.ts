// `nemoclaw connect` on a real terminal (tmux): the shell's tty is a /dev/pts/N of the sandbox,
// with job control, the terminal's size (and its changes), the sandbox uid and the exit status;
// the agent does not see the session's pty. Without a terminal, stdin and stdout are plain pipes.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireCapability } from '../helpers/capability.js';
import { nemoclawBin } from '../helpers/cli.js';
import { hasTmux, terminal, type Terminal } from '../helpers/tmux.js';
import { cli, env, yaml, type Env } from '../reconciler/harness.js';
import { requireProcessRuntime } from '../runtime/process-fixture.js';

const connectArgv = (e: Env, name: string, ...cmd: string[]) => [
  process.execPath,
  nemoclawBin,
  'connect',
  name,
  '--state-dir',
  e.state,
  ...(cmd.length ? ['--', ...cmd] : []),
];

/** Runs `connect NAME -- CMD` with INPUT on a pipe (no terminal anywhere). */
function pipedConnect(
  e: Env,
  name: string,
  input: string,
  ...cmd: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const [node, ...args] = connectArgv(e, name, ...cmd);
  const child = spawn(node!, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input);
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

/** Types a command printing `KEY=<value>` (the typed line itself never matches) and returns the value. */
async function ask(term: Terminal, key: string, shell: string): Promise<string> {
  term.type(`printf '%s=[%s]\\n' ${key} "$(${shell})"`);
  return (await term.waitFor(new RegExp(`(?:^|\\s)${key}=\\[(.*)\\]$`, 'm')))[1]!;
}

function requireTmux(t: TestContext): boolean {
  return requireCapability(t, hasTmux(), 'tmux is needed for a real terminal (apt-get install tmux)');
}

/** The checks both runtimes share: tty, uid, size and its change, job control, exit status. */
async function checkTerminalSession(term: Terminal): Promise<void> {
  // Typed ahead, while connect starts (as a user would): the relay keeps what is pending.
  term.type('echo ready-$((40+2))');
  await term.waitFor(/ready-42$/m); // after a prompt, if it was typed ahead
  const tty = await ask(term, 'tty', 'tty');
  assert.match(tty, /^\/dev\/pts\/\d+$/, 'the shell names its terminal inside the sandbox');
  assert.equal(await ask(term, 'fd0', 'readlink /proc/self/fd/0'), tty, 'stdin is that terminal');
  assert.equal(await ask(term, 'uid', 'id -u'), '1000');
  assert.equal(await ask(term, 'size', 'stty size'), '30 100', 'the terminal’s size is passed in');
  // Job control and terminal control through /dev/tty (Landlock's ioctl_dev on /dev/tty).
  assert.equal(await ask(term, 'devtty', 'stty size </dev/tty'), '30 100');
  term.type('echo flags-$-');
  assert.match((await term.waitFor(/^flags-(\w+)$/m))[1]!, /m/, 'the shell has job control (set -m)');
  assert.doesNotMatch(term.screen(), /can't access tty|job control turned off/);
  term.resize(90, 20);
  await new Promise((r) => setTimeout(r, 300)); // SIGWINCH goes through the relay (or docker) first
  assert.equal(await ask(term, 'resized', 'stty size'), '20 90', 'a resize reaches the sandbox’s pty');
}

test('connect (embedded) on a terminal: a /dev/pts of its own, sandbox uid, size, job control, exit status', async (t) => {
  if (!(await requireProcessRuntime(t)) || !requireTmux(t)) return;
  const e = env(t);
  await e.write(yaml([{ name: 'pty' }]));
  const a = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(a.status, 0, a.stderr);

  const term = terminal(t, connectArgv(e, 'pty'), 100, 30);
  await checkTerminalSession(term);
  // The session's devpts instance holds its pty only: no host pty, nothing of the agent's.
  assert.equal(await ask(term, 'pts', 'ls /dev/pts | tr "\\n" " "'), '0 ptmx ');
  // The agent's /dev/pts (seen by a non-terminal connect, which is in its mount namespace) does
  // not hold the session's pty: the agent can neither see nor open it.
  const agentView = await cli(['connect', 'pty', '--state-dir', e.state, '--', '/bin/ls', '/dev/pts']);
  assert.equal(agentView.status, 0, agentView.stderr);
  assert.equal(agentView.stdout, 'ptmx\n');
  assert.ok(
    readdirSync('/dev/pts').some((n) => /^\d+$/.test(n)),
    'the host has ptys (tmux’s), and none of them is inside',
  );
  // Nor through the session's /proc/<pid>/fd: the session's Landlock domain is not the agent's.
  const shellPid = await ask(term, 'pid', 'echo $$');
  const viaProc = await cli(['connect', 'pty', '--state-dir', e.state, '--', '/bin/readlink', '-v', `/proc/${shellPid}/fd/0`]);
  assert.notEqual(viaProc.status, 0);
  assert.match(viaProc.stderr, /Permission denied/);
  // The agent may open ptys of its own there (script(1) through /dev/ptmx), and they are its own.
  const own = await cli([
    'connect',
    'pty',
    '--state-dir',
    e.state,
    '--',
    '/usr/bin/script',
    '-qc',
    'tty; stat -c %u /dev/pts/0',
    '/dev/null',
  ]);
  assert.equal(own.status, 0, own.stderr);
  assert.match(own.stdout, /^\/dev\/pts\/0\r?\n1000\r?\n$/);

  term.type('exit 7');
  await term.waitFor(/^\[exit 7\]$/m);
});

test('connect (embedded) without a terminal: piped stdin and stdout, no tty', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const e = env(t);
  await e.write(yaml([{ name: 'pipe' }]));
  const a = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(a.status, 0, a.stderr);
  const cat = await pipedConnect(e, 'pipe', 'line one\nline two\n', '/bin/cat');
  assert.equal(cat.status, 0, cat.stderr);
  assert.equal(cat.stdout, 'line one\nline two\n');
  const tty = await pipedConnect(e, 'pipe', '', '/usr/bin/tty');
  assert.equal(tty.stdout, 'not a tty\n');
  assert.equal(tty.status, 1);
});

test('connect (docker) on a terminal: docker exec -t, a /dev/pts of the container, uid, size, job control, exit status', async (t) => {
  if (!requireTmux(t)) return;
  const probe = ensureBusyboxImage();
  if (!requireCapability(t, probe.ok, probe.ok ? '' : probe.reason) || !probe.ok) return;
  const imageId = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', probe.image], { encoding: 'utf8' }).trim();
  const e = env(t);
  t.after(() => {
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', 'label=dev.nemoclaw.sandbox=dpty'], { encoding: 'utf8' }).split('\n');
    for (const c of ids.filter(Boolean)) execFileSync('docker', ['rm', '-f', c]);
  });
  await e.write(
    `version: 1\nsandboxes:\n  dpty:\n    runtime: docker\n    image: nemoclaw-test/busybox@${imageId}\n    command: [/bin/sh, -c, 'while true; do sleep 1; done']\n    filesystem:\n      read_only: [/bin]\n      read_write: [/tmp]\n`,
  );
  const a = await e.run('apply', '-f', e.file, '--auto-approve');
  assert.equal(a.status, 0, a.stderr);

  const term = terminal(t, connectArgv(e, 'dpty'), 100, 30);
  await checkTerminalSession(term);
  term.type('exit 5');
  await term.waitFor(/^\[exit 5\]$/m);

  const cat = await pipedConnect(e, 'dpty', 'piped\n', '/bin/busybox', 'cat');
  assert.equal(cat.status, 0, cat.stderr);
  assert.equal(cat.stdout, 'piped\n');
});
