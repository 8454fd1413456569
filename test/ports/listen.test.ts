// network.listen on the real kernel: Landlock lets the agent bind exactly the listed ports, on
// the sandbox's own loopback (its network namespace has nothing else), and refuses every other bind.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSandbox } from '../../src/runtime/process/start.js';
import { tempDir } from '../helpers/tmp.js';
import { compileYaml, requireProcessRuntime } from '../runtime/process-fixture.js';
import { listenYaml } from './fixture.js';

// Prints "PORT:ok" or "PORT:<error code>" for each bind, and the interfaces the sandbox sees.
const BIND_SCRIPT = `
const net = require('node:net');
const os = require('node:os');
(async () => {
  for (const port of process.argv.slice(1).map(Number)) {
    const r = await new Promise((done) => {
      const s = net.createServer();
      s.once('error', (e) => done(e.code));
      s.listen(port, '127.0.0.1', () => s.close(() => done('ok')));
    });
    console.log(port + ':' + r);
  }
  console.log('ifaces:' + Object.keys(os.networkInterfaces()).join(','));
})();`;

test('network.listen: a listed port binds, any other is EACCES; the sandbox has only its loopback', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  const s = await compileYaml(dir, listenYaml('srv', [18789]), 'srv');
  assert.deepEqual(s.artifacts.landlock.net_rules, [{ port: 18789, access: ['bind_tcp', 'connect_tcp'] }]);
  const sb = await startSandbox({
    artifacts: s.artifacts,
    stateDir: join(dir, 'state'),
    stdio: ['ignore', 'pipe', 'pipe'],
    command: [process.execPath, '-e', BIND_SCRIPT, '18789', '18790', '8080'],
  });
  let out = '',
    err = '';
  sb.child.stdout?.on('data', (d) => (out += d));
  sb.child.stderr?.on('data', (d) => (err += d));
  assert.equal((await sb.wait()).code, 0, err);
  assert.equal(out, '18789:ok\n18790:EACCES\n8080:EACCES\nifaces:lo\n');
});

test('network.listen: without it every bind is refused', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const dir = tempDir(t);
  const s = await compileYaml(dir, listenYaml('none', []), 'none');
  assert.deepEqual(s.artifacts.landlock.net_rules, []);
  const sb = await startSandbox({
    artifacts: s.artifacts,
    stateDir: join(dir, 'state'),
    stdio: ['ignore', 'pipe', 'pipe'],
    command: [process.execPath, '-e', BIND_SCRIPT, '18789'],
  });
  let out = '';
  sb.child.stdout?.on('data', (d) => (out += d));
  assert.equal((await sb.wait()).code, 0);
  assert.equal(out, '18789:EACCES\nifaces:lo\n');
});

test('network.listen: the gateway port cannot be listed', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(compileYaml(dir, listenYaml('clash', [3128]), 'clash'), /network\.listen: port 3128/);
});
