// Inference router speed: streaming through the router vs straight to a fake provider and vs a
// plain TCP relay (a Node pipe in its own process), all in one run on the same machine.
// Usage: node dist/bench/inference.js [--quick]
// Figures: (1) time to first token p50 and per-chunk latency p50 (provider send → client receive),
// added by the router and by the relay over direct; (2) 200 concurrent streams: router (daemon)
// RSS growth. The provider and the relay are separate processes; the provider speaks plain HTTP on
// loopback so TLS cost (the same either way) does not hide the router's own.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, Agent } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewayStatus, listenTcp, registerSandbox, stopGateway, isGatewayRunning } from '../src/daemon/client.js';
import { gatewayEnvDefaults, gatewayNodeFlags } from '../src/daemon/spawn.js';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', '..', 'bin', 'nemoclaw.js');
const quick = process.argv.includes('--quick');
const N_SEQ = quick ? 100 : 400;
const CHUNKS = 20;
const CHUNK_GAP_MS = 2;
const N_CONC = 200;
const CONC_CHUNKS = 100;
const CONC_GAP_MS = 20;

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

// ── child modes ─────────────────────────────────────────────────────────────────────────────────

/** An OpenAI-style provider: each streamed chunk carries the wall time (µs) it was sent at. */
function provider(): void {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const q = JSON.parse(body) as { n?: number; gap?: number };
      const n = q.n ?? CHUNKS;
      const gap = q.gap ?? CHUNK_GAP_MS;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const tick = () => {
        if (res.destroyed) return;
        if (i === n) {
          res.write(`data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":${n}}}\n\ndata: [DONE]\n\n`);
          return void res.end();
        }
        i++;
        res.write(`data: {"t":${nowUs()},"choices":[{"index":0,"delta":{"content":"tok "}}]}\n\n`);
        setTimeout(tick, gap);
      };
      tick();
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
}

/** A plain relay: accept, connect to the target, pipe both ways. */
function relay(target: number): void {
  const server = createTcpServer({ noDelay: true }, (c) => {
    const u = connect({ host: '127.0.0.1', port: target, noDelay: true });
    c.pipe(u).pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
}

// ── measuring ───────────────────────────────────────────────────────────────────────────────────

type Res = { ttft: number; chunkUs: number };

interface StreamResult {
  ttftMs: number;
  chunkLatUs: number[];
}

const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

function stream(port: number, path: string, n = CHUNKS, gap = CHUNK_GAP_MS): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ttft = -1;
    const lat: number[] = [];
    const body = JSON.stringify({ model: 'bench', stream: true, n, gap, messages: [] });
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
        let tail = '';
        res.on('data', (c: Buffer) => {
          const at = nowUs();
          if (ttft < 0) ttft = performance.now() - t0;
          tail += c.toString();
          let nl: number;
          while ((nl = tail.indexOf('\n\n')) >= 0) {
            const ev = tail.slice(0, nl);
            tail = tail.slice(nl + 2);
            const m = /"t":([0-9.]+)/.exec(ev);
            if (m) lat.push(at - Number(m[1]));
          }
        });
        res.on('end', () => resolve({ ttftMs: ttft, chunkLatUs: lat }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The paths measured in turns (direct, relay, router, direct, …) so machine load hits them alike. */
async function sequential(ports: number[]): Promise<{ ttft: number; chunkUs: number }[]> {
  const path = '/v1/chat/completions';
  for (let i = 0; i < 200; i++) for (const p of ports) await stream(p, path); // warm up: keep-alive, JIT
  const ttft = ports.map(() => [] as number[]);
  const lat = ports.map(() => [] as number[]);
  for (let i = 0; i < N_SEQ; i++) {
    for (const [k, p] of ports.entries()) {
      const r = await stream(p, path);
      ttft[k]!.push(r.ttftMs);
      lat[k]!.push(...r.chunkLatUs);
    }
  }
  return ports.map((_, k) => ({ ttft: p50(ttft[k]!), chunkUs: p50(lat[k]!) }));
}

/** CPU time (user + system, ms) a process has used: less sensitive to machine load than latency. */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function child(args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => proc.stdout!.once('data', (d: Buffer) => resolve({ proc, port: Number(d.toString().trim()) })));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-inf-'));
  const procs: ChildProcess[] = [];
  try {
    const prov = await child(['--provider']);
    procs.push(prov.proc);
    const rel = await child(['--relay', String(prov.port)]);
    procs.push(rel.proc);
    const state = join(dir, 'state');
    // The daemon runs with the flags `gateway start` gives it (its V8 heap settings change latency).
    const gw = spawn(process.execPath, [...gatewayNodeFlags, bin, 'gateway', '--state-dir', state], {
      stdio: 'ignore',
      detached: true,
      env: { ...gatewayEnvDefaults, ...process.env },
    });
    gw.unref();
    for (let i = 0; i < 100 && !(await isGatewayRunning(state)); i++) await new Promise((r) => setTimeout(r, 50));
    const route = {
      provider: 'bench',
      providers: {
        bench: {
          api: 'openai',
          endpoint: `http://127.0.0.1:${prov.port}/v1`,
          model: 'bench',
          models: [],
          credential: 'env:HOME',
          ca_file: null,
          local: true,
        },
      },
      aliases: {},
      fallback: [],
      local_only: false,
      limits: { requests_per_minute: null, concurrent: null, tokens_per_day: null },
    };
    const policy = { allowed_ips: [], default: 'deny', format_version: 1, inference: route, on_deny: 'deny', rules: [], sandbox: 'bench' };
    await registerSandbox(state, 'bench', Buffer.from(JSON.stringify(policy)));
    const routerPort = await listenTcp(state, 'bench', '127.0.0.1', 0);
    const daemonPid = (await gatewayStatus(state)).pid;

    // (1) Sequential streams: TTFT and per-chunk latency, three paths in the same run.
    const cpu0 = cpuMs(daemonPid);
    const [direct, relayed, routed] = (await sequential([prov.port, rel.port, routerPort])) as [Res, Res, Res];
    const cpuPerCall = (cpuMs(daemonPid) - cpu0) / (N_SEQ + 200);
    const row = (name: string, r: Res) =>
      `  ${name.padEnd(8)} TTFT p50 ${r.ttft.toFixed(3)} ms (+${(r.ttft - direct.ttft).toFixed(3)} ms)   chunk p50 ${(r.chunkUs / 1000).toFixed(3)} ms (+${((r.chunkUs - direct.chunkUs) / 1000).toFixed(3)} ms)`;
    console.log(`(1) ${N_SEQ} sequential streams of ${CHUNKS} chunks, ${CHUNK_GAP_MS} ms apart (added = over direct):`);
    console.log(row('direct', direct));
    console.log(row('relay', relayed));
    console.log(row('router', routed));
    console.log(
      `    router adds TTFT ${(routed.ttft - direct.ttft).toFixed(3)} ms (target ≤ 1 ms), per chunk ${((routed.chunkUs - direct.chunkUs) / 1000).toFixed(3)} ms (target ≤ 0.2 ms); ` +
        `relay adds ${(relayed.ttft - direct.ttft).toFixed(3)} / ${((relayed.chunkUs - direct.chunkUs) / 1000).toFixed(3)} ms`,
    );
    console.log(`    daemon CPU per routed stream (request, ${CHUNKS} chunks, audit): ${cpuPerCall.toFixed(3)} ms`);

    // (2) 200 concurrent streams through the router: daemon RSS growth.
    const idle = rssKiB(daemonPid);
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(daemonPid))), 50);
    const results = await Promise.all(
      Array.from({ length: N_CONC }, () => stream(routerPort, '/v1/chat/completions', CONC_CHUNKS, CONC_GAP_MS)),
    );
    clearInterval(sampler);
    const lat = results.flatMap((r) => r.chunkLatUs);
    console.log(
      `(2) ${N_CONC} concurrent streams (${CONC_CHUNKS} chunks, ${CONC_GAP_MS} ms apart) through the router: daemon RSS ${(idle / 1024).toFixed(1)} → ${(peak / 1024).toFixed(1)} MiB, ` +
        `growth ${((peak - idle) / 1024).toFixed(1)} MiB (target ≤ 50 MiB); chunk p50 ${(p50(lat) / 1000).toFixed(3)} ms`,
    );
    await stopGateway(state);
    // Its control socket closes before it has saved its state: wait for the process itself.
    for (let i = 0; i < 200 && alive(daemonPid); i++) await new Promise((r) => setTimeout(r, 25));
  } finally {
    for (const p of procs) p.kill();
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--provider')) provider();
else if (process.argv.includes('--relay')) relay(Number(process.argv[process.argv.indexOf('--relay') + 1]));
else await main();
