// npm run bench [name...]: runs the compiled benchmarks (dist/bench/*.js), one after another.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bench');
const wanted = process.argv.slice(2);
for (const f of readdirSync(dir)
  .filter((f) => f.endsWith('.js'))
  .sort()) {
  const name = f.replace(/\.js$/, '');
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n=== bench/${name} ===`);
  const r = spawnSync(process.execPath, [join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
