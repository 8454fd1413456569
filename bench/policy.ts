// bench/policy: what the gateway does with an egress.json before a reload swaps it in, in process:
// parse + schema check (parsePolicy) and the matcher's index, for 10 and 10,000 rules.
// Baseline in the same run: JSON.parse of the same bytes, the floor any parser pays.
// The end-to-end reload (control API, atomic save, flow recheck) is figure (6) of bench/proxy.
import { performance } from 'node:perf_hooks';
import { PolicyIndex } from '../src/gateway/matcher.js';
import { parsePolicy } from '../src/gateway/policy.js';

const ROUNDS = 30;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function policy(fillers: number): Buffer {
  const rules = Array.from({ length: fillers }, (_, i) => ({
    name: `filler-${String(i).padStart(5, '0')}`,
    source: 'config',
    endpoints: [
      { host: `h${i}.example${i % 97}.com`, methods: null, paths: null, port: 443, protocol: 'https', wildcard: i % 2 === 0 },
      { host: `api${i}.example.org`, methods: ['GET', 'POST'], paths: ['/v1/**'], port: 80, protocol: 'http', wildcard: false },
    ],
  }));
  const p = { allowed_ips: ['10.0.0.0/8'], default: 'deny', format_version: 1, inference: null, on_deny: 'ask', rules, sandbox: 'bench' };
  return Buffer.from(JSON.stringify(p) + '\n');
}

function time(f: () => void): number {
  const xs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    f();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

console.log(`node ${process.version}; median of ${ROUNDS} rounds`);
for (const n of [10, 10_000]) {
  const bytes = policy(n);
  const json = time(() => JSON.parse(bytes.toString('utf8')));
  const parse = time(() => parsePolicy(bytes));
  const loaded = parsePolicy(bytes);
  const index = time(() => new PolicyIndex(loaded.policy));
  console.log(
    `  ${String(n).padStart(6)} rules (${(bytes.length / 1024).toFixed(0)} KiB): JSON.parse ${json.toFixed(2)} ms; ` +
      `parsePolicy ${parse.toFixed(2)} ms (${(parse / json).toFixed(2)}× JSON.parse); PolicyIndex ${index.toFixed(2)} ms`,
  );
}
