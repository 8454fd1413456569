// bench/compile: load, validate (schema + lint), compile and write configs of 10, 100 and 1,000
// sandboxes × 20 egress rules. Baseline, measured in the same run: a bare yaml.parse of the same text.
// Targets: 1,000 sandboxes end to end in < 2 s here; 1,000 vs 100 ratio ≤ 12 (no worse than linear).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse } from 'yaml';
import { loadCatalog } from '../src/catalog/catalog.js';
import { compileConfig } from '../src/compiler/compile.js';
import { loadAndCheck } from '../src/pipeline/pipeline.js';
import { writeArtifacts } from '../src/pipeline/write-artifacts.js';

function generate(n: number): string {
  const lines = ['version: 1', 'sandboxes:'];
  for (let i = 0; i < n; i++) {
    lines.push(
      ` a${i}:`,
      '  command: [/bin/true]',
      `  filesystem: {read_only: [/usr], read_write: [/d${i}]}`,
      '  network:',
      '   presets: [github]',
      '   egress:',
    );
    for (let r = 0; r < 20; r++) lines.push(`   - {name: r${r}, endpoints: [{host: s${r}.t${i}.ex.com, port: ${8000 + r}}]}`);
  }
  return lines.join('\n') + '\n';
}

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const v = fn();
  return [v, performance.now() - t0];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const catalog = loadCatalog();
const work = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-'));
const results: Record<number, number> = {};
console.log('size   baseline yaml.parse   load+validate+lint   compile    write     total    total/baseline');
for (const n of [10, 100, 1000]) {
  const file = join(work, `n${n}.yaml`);
  const text = generate(n);
  writeFileSync(file, text);
  const runs = n === 1000 ? 3 : 5;
  const base: number[] = [],
    check: number[] = [],
    comp: number[] = [],
    write: number[] = [],
    total: number[] = [];
  for (let k = 0; k < runs; k++) {
    base.push(time(() => parse(text))[1]);
    // 1,000 sandboxes × 20 named rules cannot fit the 1 MiB limit for user files (≈1.2 MiB at the
    // least), so the bench raises that guard to measure how the pipeline scales.
    const [checked, tc] = time(() => loadAndCheck(file, catalog, 8 * 1024 * 1024));
    if (checked.diagnostics.some((d) => d.severity === 'error'))
      throw new Error(`generated config invalid: ${checked.diagnostics[0]!.message}`);
    const [out, tk] = time(() =>
      compileConfig({
        config: checked.config!,
        source: { file, git_commit: null },
        blueprints: {},
        presets: catalog.presets,
        facts: {},
        lockedImages: {},
      }),
    );
    const outDir = join(work, `out${n}-${k}`);
    const [, tw] = time(() => writeArtifacts(out, outDir));
    check.push(tc);
    comp.push(tk);
    write.push(tw);
    total.push(tc + tk + tw);
  }
  results[n] = median(total);
  const f = (x: number) => `${x.toFixed(1)} ms`.padStart(10);
  console.log(
    `${String(n).padStart(5)}  ${f(median(base))}            ${f(median(check))}         ${f(median(comp))} ${f(median(write))} ${f(median(total))}   ${(median(total) / median(base)).toFixed(1)}×`,
  );
}
rmSync(work, { recursive: true, force: true });
const ratio = results[1000]! / results[100]!;
console.log(`\n1,000 sandboxes: ${results[1000]!.toFixed(0)} ms (target < 2000 ms: ${results[1000]! < 2000 ? 'met' : 'NOT met'})`);
console.log(`growth 1,000 vs 100: ${ratio.toFixed(2)}× (target ≤ 12: ${ratio <= 12 ? 'met' : 'NOT met'})`);
