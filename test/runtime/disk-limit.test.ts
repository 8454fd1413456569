// Break 2 of issue 14, sandbox side: limits.disk is enforced by the kernel. The sandbox's
// read_write data lives on its own ext4 image of that size, mounted only in its mount namespace:
// filling it is ENOSPC inside, the state directory (the gateway's) stays writable, the data
// persists across restarts, the limit can be raised, and lowering it below the data is refused.
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSandbox } from '../../src/runtime/process/start.js';
import { probeHost } from '../../src/runtime/process/host.js';
import { sandboxPaths } from '../../src/state/sandbox-layout.js';
import { stateLayout } from '../../src/state/paths.js';
import { UserError } from '../../src/util/errors.js';
import { requireCapability } from '../helpers/capability.js';
import { tempDir } from '../helpers/tmp.js';
import { BASE_YAML, compileYaml, requireProcessRuntime } from './process-fixture.js';

const MiB = 2 ** 20;

async function sh(artifacts: Parameters<typeof startSandbox>[0]['artifacts'], state: string, script: string) {
  const sb = await startSandbox({ artifacts, stateDir: state, stdio: ['ignore', 'pipe', 'pipe'], command: ['/bin/sh', '-c', script] });
  let out = '';
  sb.child.stdout?.on('data', (d) => (out += d));
  sb.child.stderr?.on('data', (d) => (out += d));
  const { code } = await sb.wait();
  return { code, out, report: sb.report };
}

test('limits.disk: ENOSPC inside at the limit, the state dir unaffected, data kept, grows, refuses to shrink below use', async (t) => {
  if (!(await requireProcessRuntime(t))) return;
  const h = await probeHost();
  if (!requireCapability(t, !!h.kernel?.root && h.disk.loop && h.disk.mkfs, 'limits.disk needs root, loop devices and mkfs.ext4')) return;
  const dir = tempDir(t);
  const yaml = (disk: string) =>
    BASE_YAML('filler', '').replace('limits: { pids: 64, nofile: 256 }', `limits: { pids: 64, nofile: 256, disk: ${disk} }`);
  const small = await compileYaml(dir, yaml('32MiB'), 'filler');
  assert.equal(small.artifacts.sandbox.limits.disk_bytes, 32 * MiB);
  const state = join(dir, 'state');
  const paths = sandboxPaths(state, 'filler');

  // 48 MiB into a 32 MiB disk: dd fails with "No space left on device".
  const fill = await sh(small.artifacts, state, 'echo kept > /sandbox/keep; dd if=/dev/zero of=/tmp/fill bs=1M count=48 2>&1; echo dd=$?');
  assert.equal(fill.report.disk, 'own_filesystem');
  assert.match(fill.out, /No space left on device/);
  assert.match(fill.out, /dd=1/);
  const img = statSync(paths.diskImage);
  assert.equal(img.size, 32 * MiB);
  assert.ok(img.blocks * 512 <= 32 * MiB, `the image holds at most its size on the host (${img.blocks * 512})`);
  // The host side of the same file system: the gateway's directory still takes writes.
  const gw = stateLayout(state).gatewayDir;
  mkdirSync(gw, { recursive: true });
  writeFileSync(join(gw, 'probe-after-fill'), 'x'.repeat(MiB));

  // Lowering the limit below what is stored is refused, naming the field; nothing is lost.
  const tiny = await compileYaml(dir, yaml('16MiB'), 'filler');
  await assert.rejects(
    sh(tiny.artifacts, state, 'true'),
    (e: unknown) => e instanceof UserError && /limits\.disk 16 MiB is below what the sandbox stores/.test(e.message),
  );
  assert.equal(statSync(paths.diskImage).size, 32 * MiB);

  // Raised to 96 MiB: the earlier data is there, and 48 MiB more now fit.
  const big = await compileYaml(dir, yaml('96MiB'), 'filler');
  const grown = await sh(
    big.artifacts,
    state,
    'cat /sandbox/keep; rm /tmp/fill; dd if=/dev/zero of=/tmp/fill bs=1M count=48 2>/dev/null; echo dd=$?',
  );
  assert.equal(grown.code, 0, grown.out);
  assert.match(grown.out, /^kept\n/);
  assert.match(grown.out, /dd=0/);
  assert.equal(statSync(paths.diskImage).size, 96 * MiB);

  // A second instance while one runs would mount the same ext4 twice: refused, the first keeps running.
  const first = await startSandbox({ artifacts: big.artifacts, stateDir: state, stdio: 'ignore', command: ['/bin/sh', '-c', 'sleep 30'] });
  t.after(() => first.stop(100));
  await assert.rejects(sh(big.artifacts, state, 'true'), /in use by another running instance of this sandbox/);
  await assert.rejects(sh(small.artifacts, state, 'true'), /cannot resize .* the sandbox is running/);
  assert.equal(first.child.exitCode, null);
});
