// Runs every compiled test file under dist/test with node:test, in two phases:
// 1. pure tests (no processes, sockets, sandboxes or Docker: the folders in PURE) concurrently;
// 2. system tests one file at a time: they share the kernel, Docker, cgroups and loopback ports;
// 3. slow system tests (test/slow: builds of whole images, OpenClaw end to end), one at a time.
// A test that hangs fails after 5 minutes (30 in the slow phase) instead of holding CI until its deadline.
// Usage: node scripts/test.mjs [filter-substring...]
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const PURE = new Set(['compiler', 'config', 'lint', 'util', 'unit']);

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const testRoot = join(root, 'dist/test');
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js') && (filters.length === 0 || filters.some((f) => p.includes(f)))) files.push(p);
  }
})(testRoot);
const folder = (p) => relative(testRoot, p).split(sep)[0];
const isPure = (p) => PURE.has(folder(p));
const isSlow = (p) => folder(p) === 'slow';
const MINUTE = 60_000;
const phases = [
  { name: 'pure', files: files.filter(isPure), concurrency: Math.max(2, availableParallelism()), timeout: 5 * MINUTE },
  { name: 'system', files: files.filter((p) => !isPure(p) && !isSlow(p)), concurrency: 1, timeout: 5 * MINUTE },
  { name: 'slow', files: files.filter(isSlow), concurrency: 1, timeout: 30 * MINUTE },
];
let status = 0;
for (const phase of phases) {
  if (phase.files.length === 0) continue;
  console.log(`# phase: ${phase.name} tests (${phase.files.length} files, concurrency ${phase.concurrency})`);
  const r = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${phase.concurrency}`, `--test-timeout=${phase.timeout}`, '--test-force-exit', ...phase.files],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
