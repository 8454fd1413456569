// The layering check: dependency-cruiser's rules (.dependency-cruiser.cjs) on every module, then
// the folder graph must be acyclic (depcruise checks module cycles; folder cycles need the
// collapsed graph, which it does not judge). Exits non-zero naming each violation.
import { cruise } from 'dependency-cruiser';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs'));
const { output } = await cruise(['src', 'bench'], {
  ...config.options,
  validate: true,
  ruleSet: { forbidden: config.forbidden },
  outputType: 'json',
});
const result = typeof output === 'string' ? JSON.parse(output) : output;

const problems = result.summary.violations.map(
  (v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle: ${v.cycle.map((c) => c.name ?? c).join(' → ')})` : ''}`,
);

// Folder graph: src/<folder> → src/<folder>.
const folderOf = (p) => /^src\/([^/]+)\//.exec(p)?.[1];
const edges = new Map();
for (const m of result.modules) {
  const a = folderOf(m.source);
  if (!a) continue;
  for (const d of m.dependencies) {
    const b = folderOf(d.resolved);
    if (!b || b === a) continue;
    if (!edges.has(a)) edges.set(a, new Map());
    if (!edges.get(a).has(b)) edges.get(a).set(b, `${m.source} → ${d.resolved}`);
  }
}
const state = new Map();
const stack = [];
function visit(n) {
  state.set(n, 'open');
  stack.push(n);
  for (const [m, why] of edges.get(n) ?? []) {
    if (state.get(m) === 'open') {
      const cycle = [...stack.slice(stack.indexOf(m)), m];
      problems.push(`folder cycle: ${cycle.join(' → ')} (e.g. ${why})`);
    } else if (!state.has(m)) visit(m);
  }
  stack.pop();
  state.set(n, 'done');
}
for (const n of [...edges.keys()].sort()) if (!state.has(n)) visit(n);

if (problems.length) {
  console.error(`check-layers: ${problems.length} violation(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-layers: ${result.modules.length} modules, ${[...edges.keys()].length} folders, no cycles, every import points down`);
