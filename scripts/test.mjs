// Runs every compiled test file under dist/test with node:test, in two phases:
// 1. pure tests (no processes, sockets, sandboxes or Docker: the folders in PURE) concurrently;
// 2. system tests one file at a time: they share the kernel, Docker, cgroups and loopback ports.
// A test that hangs fails after 5 minutes (30 in test/e2e-slow) instead of holding CI until its deadline.
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
const isPure = (p) => PURE.has(relative(testRoot, p).split(sep)[0]);
// test/e2e-slow builds the full OpenClaw image (minutes on a cold cache): a longer timeout there.
const isSlow = (p) => relative(testRoot, p).split(sep)[0] === 'e2e-slow';
const phases = [
  { name: 'pure', files: files.filter(isPure), concurrency: Math.max(2, availableParallelism()) },
  { name: 'system', files: files.filter((p) => !isPure(p) && !isSlow(p)), concurrency: 1 },
  { name: 'slow', files: files.filter(isSlow), concurrency: 1, timeout: 1_800_000 },
];
let status = 0;
for (const phase of phases) {
  if (phase.files.length === 0) continue;
  console.log(`# phase: ${phase.name} tests (${phase.files.length} files, concurrency ${phase.concurrency})`);
  const r = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${phase.concurrency}`, `--test-timeout=${phase.timeout ?? 300000}`, '--test-force-exit', ...phase.files],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
