// The kernel probe is kept for the boot (/run/nemoclaw/host-probe.json as root): used only when
// its key (boot, uid, init binary, user-namespace sysctls) is this host's, asked again otherwise
// and by doctor (fresh).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireCapability } from '../helpers/capability.js';
import { repoRoot } from '../helpers/cli.js';

const CACHE = '/run/nemoclaw/host-probe.json';
const hostModule = join(repoRoot, 'dist', 'src', 'runtime', 'process', 'host.js');

/** probeHost() in a new process (the probe is also cached per process). */
function probe(fresh = false): { landlock_abi: number } {
  const code = `const { probeHost } = await import(${JSON.stringify(hostModule)}); const h = await probeHost({ fresh: ${fresh} }); console.log(JSON.stringify(h.kernel));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { landlock_abi: number };
}

test('the probe is kept for this boot, and used only under its own key', (t) => {
  if (!requireCapability(t, process.getuid?.() === 0, 'the boot-wide cache is /run/nemoclaw, for root')) return;
  rmSync(CACHE, { force: true });
  t.after(() => rmSync(CACHE, { force: true }));
  const real = probe();
  assert.ok(existsSync(CACHE));
  assert.equal(statSync(CACHE).mode & 0o777, 0o600);
  const kept = JSON.parse(readFileSync(CACHE, 'utf8')) as { key: string; kernel: { landlock_abi: number } };
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  assert.ok(kept.key.startsWith(`${bootId} 0 `), kept.key);
  assert.deepEqual(kept.kernel, real);

  // Proof that it is read: a value no kernel reports comes back under the right key...
  writeFileSync(CACHE, JSON.stringify({ key: kept.key, kernel: { ...real, landlock_abi: 99 } }), { mode: 0o600 });
  assert.equal(probe().landlock_abi, 99);
  // ...but not under another boot's key, and not for doctor's fresh probe.
  assert.equal(probe(true).landlock_abi, real.landlock_abi);
  writeFileSync(CACHE, JSON.stringify({ key: `other-boot${kept.key.slice(bootId.length)}`, kernel: { ...real, landlock_abi: 99 } }), {
    mode: 0o600,
  });
  assert.equal(probe().landlock_abi, real.landlock_abi);
  // ...nor from a file others may write.
  writeFileSync(CACHE, JSON.stringify({ key: kept.key, kernel: { ...real, landlock_abi: 99 } }));
  chmodSync(CACHE, 0o666);
  assert.equal(probe().landlock_abi, real.landlock_abi);
});
