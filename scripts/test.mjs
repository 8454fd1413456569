// Runs every compiled test file under dist/test with node:test.
// Usage: node scripts/test.mjs [filter-substring...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js') && (filters.length === 0 || filters.some((f) => p.includes(f)))) files.push(p);
  }
})(join(root, 'dist/test'));
// One file at a time (enforcement tests share the kernel, Docker and loopback ports); a test that
// hangs fails after 5 minutes instead of holding CI until its deadline.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', '--test-force-exit', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
