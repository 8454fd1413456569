// Gateway speed against direct loopback and tinyproxy, all in one run on the same machine.
// Usage: node dist/bench/proxy.js [--quick] [--tunnel] [--stream] [--http] [--memory]
// Figures: (1) new-tunnel latency, (2) keep-alive latency inside a tunnel, (3) 1 GiB throughput
// (native endpoints, bench/stream.c, and Node endpoints for reference), (4) 10 vs 10,000 rules,
// (5) RSS with 100 (and 1,000) idle tunnels, (6) reload latency, (7) plain-HTTP keep-alive
// request latency, (8) 256 MiB plain-HTTP download, (9) RSS idle → after 10,000 plain-HTTP
// requests → after their connections close. With no row flag every row runs; --tunnel selects
// (1, 2, 4, 5, 6), --stream (3), --http (7, 8), --memory (9); --memory runs first, on a fresh gateway.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewayEnvDefaults, gatewayNodeFlags } from '../src/daemon/spawn.js';
import { gatewayStatus, listenTcp, reloadPolicy, registerSandbox, stopGateway, isGatewayRunning } from '../src/daemon/client.js';
import { PolicyIndex } from '../src/gateway/matcher.js';
import { parsePolicy } from '../src/gateway/policy.js';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', '..', 'bin', 'nemoclaw.js');
const quick = process.argv.includes('--quick');
const ROWS = ['--tunnel', '--stream', '--http', '--memory'] as const;
const picked = ROWS.filter((r) => process.argv.includes(r));
const want = (row: (typeof ROWS)[number]) => picked.length === 0 || picked.includes(row);
const N_TUNNELS = quick ? 200 : 1000;
const N_PINGS = quick ? 2000 : 10000;
const STREAM_BYTES = quick ? 128 * 2 ** 20 : 2 ** 30;
const STREAM_ROUNDS = quick ? 3 : 5;
const N_HTTP = quick ? 2000 : 10000;
const DOWNLOAD_BYTES = 256 * 2 ** 20;
const DOWNLOAD_ROUNDS = quick ? 3 : 5;
const LOAD_REQUESTS = 10_000;
/** The daemon's own Node flags (src/daemon/spawn.ts), so the bench measures the gateway users run. */
const GATEWAY_NODE_FLAGS = process.argv.includes('--no-node-flags') ? [] : gatewayNodeFlags;

type Via = { kind: 'direct' } | { kind: 'proxy'; path?: string; port?: number };
/** Native streams can also go through a plain relay (no CONNECT). */
type StreamVia = Via | { kind: 'raw'; path: string };

function dial(via: Via, port: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    if (via.kind === 'direct') {
      const s = connect({ host: '127.0.0.1', port, noDelay: true });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
      return;
    }
    const s = via.path ? connect(via.path) : connect({ host: '127.0.0.1', port: via.port!, noDelay: true });
    s.on('error', () => {}); // after the handshake, failures surface as timeouts in the measure
    s.setNoDelay?.(true);
    s.once('error', reject);
    s.once('connect', () => s.write(`CONNECT localhost:${port} HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`));
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      if (!/^HTTP\/1\.[01] 200/.test(buf.toString('latin1')))
        return reject(new Error(`proxy refused: ${buf.toString('latin1').split('\r\n')[0]}`));
      if (buf.length > end + 4) s.unshift(buf.subarray(end + 4));
      resolve(s);
    };
    s.on('data', onData);
  });
}

function pingPong(s: Socket, msg: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (c: Buffer) => {
      got += c.length;
      if (got >= msg.length) {
        s.off('data', onData);
        resolve();
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(msg);
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(3)} ms`;

async function newTunnels(via: Via, port: number, n: number): Promise<number[]> {
  const one = Buffer.from('x');
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const s = await dial(via, port);
    await pingPong(s, one);
    out.push(performance.now() - t0);
    s.destroy();
  }
  return out;
}

async function keepAlive(via: Via, port: number, n: number): Promise<number[]> {
  const s = await dial(via, port);
  const msg = Buffer.alloc(64, 7);
  for (let i = 0; i < 200; i++) await pingPong(s, msg); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await pingPong(s, msg);
    out.push(performance.now() - t0);
  }
  s.destroy();
  return out;
}

async function stream(via: Via, port: number, bytes: number): Promise<number> {
  const s = await dial(via, port);
  const chunk = Buffer.alloc(256 * 1024, 1);
  const t0 = performance.now();
  const done = new Promise<string>((resolve, reject) => {
    let reply = '';
    s.on('data', (c) => {
      reply += c;
      if (reply.endsWith('\n')) resolve(reply.trim());
    });
    s.on('error', reject);
  });
  const header = Buffer.alloc(8);
  header.writeBigUInt64BE(BigInt(Math.ceil(bytes / chunk.length) * chunk.length));
  s.write(header);
  let sent = 0;
  while (sent < bytes) {
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    sent += chunk.length;
  }
  const reply = await done;
  const secs = (performance.now() - t0) / 1000;
  if (Number(reply) !== sent) throw new Error(`sink got ${reply} of ${sent}`);
  s.destroy();
  return sent / secs / 2 ** 20;
}

/** socat relaying a unix socket to the native sink: the floor for any user-space relay here. */
async function startSocat(dir: string, port: number): Promise<{ proc: ChildProcess; path: string } | undefined> {
  if (spawnSync('sh', ['-c', 'command -v socat']).status !== 0) return undefined;
  const path = join(dir, 'socat.sock');
  const proc = spawn('socat', ['-b1048576', `UNIX-LISTEN:${path},fork`, `TCP:127.0.0.1:${port}`], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(path);
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return { proc, path };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill();
  return undefined;
}

/** Build bench/stream.c (the native sender and sink); undefined when there is no C compiler. */
function buildNativeStream(dir: string): string | undefined {
  const out = join(dir, 'stream');
  const r = spawnSync('cc', ['-O2', '-o', out, join(here, '..', '..', 'bench', 'stream.c')], { stdio: ['ignore', 'ignore', 'pipe'] });
  return r.status === 0 ? out : undefined;
}

function nativeStream(binary: string, via: StreamVia, port: number, bytes: number): number {
  const args = ['send', String(port), String(bytes)];
  if (via.kind === 'proxy') args.push(...(via.path ? ['unix', via.path] : ['tcp', String(via.port)]));
  if (via.kind === 'raw') args.push('raw', via.path);
  const r = spawnSync(binary, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`native stream via ${JSON.stringify(via)}: ${r.stderr.trim()}`);
  return Number(r.stdout.trim());
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Plain-HTTP origin port, allowed as a `protocol: http` endpoint (set once the servers are up). */
let httpPort = 0;

function policy(ports: number[], fillers: number, version = 0): Buffer {
  const rules = [
    {
      name: 'bench',
      source: `config#${version}`, // a new version without extra fields: the gateway refuses unknown ones
      endpoints: [
        ...ports.map((port) => ({ host: 'localhost', methods: null, paths: null, port, protocol: 'https', wildcard: false })),
        { host: 'localhost', methods: null, paths: null, port: httpPort, protocol: 'http', wildcard: false },
      ],
    },
  ];
  for (let i = 0; i < fillers; i++) {
    rules.push({
      name: `filler-${String(i).padStart(5, '0')}`,
      source: 'config',
      endpoints: [{ host: `h${i}.example${i % 97}.com`, methods: null, paths: null, port: 443, protocol: 'https', wildcard: i % 2 === 0 }],
    });
  }
  rules.sort((a, b) => a.name.localeCompare(b.name));
  return Buffer.from(
    JSON.stringify({
      allowed_ips: [],
      default: 'deny',
      format_version: 1,
      inference: null,
      on_deny: 'deny',
      rules,
      sandbox: 'bench',
    }) + '\n',
  );
}

function waitLine(p: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    p.stdout!.on('data', (c) => {
      buf += c;
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    p.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
}

async function startTinyproxy(dir: string): Promise<{ proc: ChildProcess; port: number } | undefined> {
  if (spawnSync('sh', ['-c', 'command -v tinyproxy']).status !== 0) return undefined;
  const port = await new Promise<number>((r) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
  const conf = join(dir, 'tinyproxy.conf');
  writeFileSync(
    conf,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 600',
      'MaxClients 4096',
      'Allow 127.0.0.1',
      'LogLevel Critical',
      `PidFile "${join(dir, 'tinyproxy.pid')}"`,
      `LogFile "${join(dir, 'tinyproxy.log')}"`,
      ...(process.getuid?.() === 0 ? ['User nobody', 'Group nogroup'] : []),
    ].join('\n') + '\n',
  );
  const proc = spawn('tinyproxy', ['-d', '-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return { proc, port };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill();
  return undefined;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-'));
  const servers = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const { echo, sink, http } = JSON.parse(await waitLine(servers)) as { echo: number; sink: number; http: number };
  httpPort = http;
  const native = buildNativeStream(dir);
  const nativeSink = native ? spawn(native, ['sink'], { stdio: ['ignore', 'pipe', 'inherit'] }) : undefined;
  const nsink = nativeSink ? Number(await waitLine(nativeSink)) : 0;
  const ports = nativeSink ? [echo, sink, nsink] : [echo, sink];
  // The bench's servers are on loopback, so the gateway runs with the (loudly reported) test hook.
  const gwProc = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, bin, 'gateway', '--state-dir', dir], {
    stdio: 'ignore',
    env: { ...gatewayEnvDefaults, ...process.env, NEMOCLAW_GATEWAY_TEST_ALLOW_LOOPBACK: '1' },
  });
  for (let i = 0; i < 200 && !(await isGatewayRunning(dir)); i++) await new Promise((r) => setTimeout(r, 25));
  const tiny = await startTinyproxy(dir);
  try {
    const reg = await registerSandbox(dir, 'bench', policy(ports, 10));
    const tcpPort = await listenTcp(dir, 'bench', '127.0.0.1', 0);
    const gwPid = (await gatewayStatus(dir)).pid;
    const gw: Via = { kind: 'proxy', path: reg.socketPath };
    const targets: [string, Via][] = [
      ['direct', { kind: 'direct' }],
      ['gateway (unix socket)', { kind: 'proxy', path: reg.socketPath }],
      ['gateway (tcp)', { kind: 'proxy', port: tcpPort }],
      ...(tiny ? [['tinyproxy (tcp)', { kind: 'proxy', port: tiny.port }] as [string, Via]] : []),
    ];
    console.log(
      `node ${process.version}; ${N_TUNNELS} tunnels, ${N_PINGS} pings, ${STREAM_BYTES / 2 ** 20} MiB stream${tiny ? '' : '; tinyproxy NOT available'}`,
    );

    if (want('--memory')) await memoryRow(gwPid, reg.socketPath);
    if (want('--http')) await httpRows(reg.socketPath);

    if (want('--tunnel')) {
      console.log('\n(5) RSS with idle tunnels (measured first, on a fresh gateway)');
      const before = rss(gwPid);
      const idle: Socket[] = [];
      for (let i = 0; i < 100; i++) idle.push(await dial(gw, echo));
      await new Promise((r) => setTimeout(r, 200));
      const at100 = rss(gwPid);
      for (let i = 0; i < 900; i++) idle.push(await dial(gw, echo));
      await new Promise((r) => setTimeout(r, 200));
      const at1000 = rss(gwPid);
      let tinyLine = '';
      if (tiny) {
        const tpid = Number(readFileSync(join(dir, 'tinyproxy.pid'), 'utf8'));
        const tIdle: Socket[] = [];
        const tb = rss(tpid);
        for (let i = 0; i < 100; i++) tIdle.push(await dial({ kind: 'proxy', port: tiny.port }, echo));
        await new Promise((r) => setTimeout(r, 200));
        tinyLine = `; tinyproxy main process ${tb.toFixed(1)} → ${rss(tpid).toFixed(1)} MiB (it forks per client, so this undercounts it)`;
        for (const s of tIdle) s.destroy();
      }
      console.log(
        `  gateway: ${before.toFixed(1)} MiB idle, ${at100.toFixed(1)} MiB with 100 tunnels (+${(((at100 - before) * 1024) / 100).toFixed(1)} KiB each), ${at1000.toFixed(1)} MiB with 1,000${tinyLine}`,
      );
      for (const s of idle) s.destroy();
      await new Promise((r) => setTimeout(r, 300));
      console.log(`\n(1) ${N_TUNNELS} sequential new tunnels (connect + CONNECT + 1-byte echo + close)`);
      const base1 = await newTunnels({ kind: 'direct' }, echo, N_TUNNELS);
      for (const [name, via] of targets) {
        const xs = name === 'direct' ? base1 : await newTunnels(via, echo, N_TUNNELS);
        const add50 = pct(xs, 50) - pct(base1, 50);
        const add99 = pct(xs, 99) - pct(base1, 99);
        console.log(
          `  ${name.padEnd(22)} p50 ${ms(pct(xs, 50))}  p99 ${ms(pct(xs, 99))}` +
            (name === 'direct' ? '' : `  added p50 ${ms(add50)}  p99 ${ms(add99)}`),
        );
      }

      console.log(`\n(2) keep-alive latency inside one tunnel (${N_PINGS} × 64-byte round trips)`);
      const base2 = await keepAlive({ kind: 'direct' }, echo, N_PINGS);
      for (const [name, via] of targets) {
        const xs = name === 'direct' ? base2 : await keepAlive(via, echo, N_PINGS);
        console.log(
          `  ${name.padEnd(22)} p50 ${ms(pct(xs, 50))}  p99 ${ms(pct(xs, 99))}` +
            (name === 'direct' ? '' : `  added p50 ${ms(pct(xs, 50) - pct(base2, 50))} (target ≤ 0.5 ms)`),
        );
      }
    }

    if (want('--stream')) await streamRows(dir, native, nsink, sink, targets);

    if (want('--tunnel')) {
      console.log('\n(4) 10 vs 10,000 rules');
      const p10 = parsePolicy(policy(ports, 10));
      const p10k = parsePolicy(policy(ports, 10_000));
      const matchRate = (idx: PolicyIndex) => {
        const hosts = ['localhost', 'a.b.h3.example3.com', 'nothing.example.org', 'h5.example5.com'];
        const n = 1_000_000;
        const t0 = performance.now();
        for (let i = 0; i < n; i++) idx.match({ host: hosts[i & 3]!, port: 443, kind: 'tunnel' });
        return n / ((performance.now() - t0) / 1000);
      };
      const r10 = matchRate(new PolicyIndex(p10.policy));
      const r10k = matchRate(new PolicyIndex(p10k.policy));
      console.log(
        `  matcher: 10 rules ${(r10 / 1e6).toFixed(2)} M/s, 10,000 rules ${(r10k / 1e6).toFixed(2)} M/s (ratio ${(r10k / r10).toFixed(2)})`,
      );
      const lat10 = await newTunnels(gw, echo, 300);
      await reloadPolicy(dir, 'bench', policy(ports, 10_000));
      const lat10k = await newTunnels(gw, echo, 300);
      console.log(
        `  new tunnel p50: 10 rules ${ms(pct(lat10, 50))}, 10,000 rules ${ms(pct(lat10k, 50))} (ratio ${(pct(lat10k, 50) / pct(lat10, 50)).toFixed(2)})`,
      );

      console.log('\n(6) reload: call → new version active (reloadPolicy with wait)');
      for (const fillers of [10, 10_000]) {
        const times: number[] = [];
        for (let i = 0; i < 20; i++) {
          const bytes = policy(ports, fillers, i + 1); // built before the clock starts
          const t0 = performance.now();
          await reloadPolicy(dir, 'bench', bytes);
          times.push(performance.now() - t0);
        }
        console.log(`  ${String(fillers).padStart(6)} rules: p50 ${ms(pct(times, 50))}  max ${ms(Math.max(...times))} (target ≤ 100 ms)`);
      }
    }
  } finally {
    await stopGateway(dir).catch(() => gwProc.kill());
    tiny?.proc.kill();
    servers.kill();
    nativeSink?.kill();
    await new Promise((r) => setTimeout(r, 200));
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

/** A connection for plain HTTP: straight to the origin, or to the gateway's proxy socket. */
function dialHttp(via: 'direct' | string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = via === 'direct' ? connect({ host: '127.0.0.1', port: httpPort, noDelay: true }) : connect(via);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** The request head: origin-form direct, absolute-form through the gateway. */
const httpHead = (via: 'direct' | string, path: string) =>
  `GET ${via === 'direct' ? path : `http://localhost:${httpPort}${path}`} HTTP/1.1\r\nHost: localhost:${httpPort}\r\n\r\n`;

/** One request on an open connection; resolves with the body length once the whole body is in. */
function exchange(s: Socket, head: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf: Buffer | null = Buffer.alloc(0);
    let want = -1;
    let got = 0;
    const done = (err?: Error) => {
      s.off('data', onData);
      s.off('error', done);
      s.off('end', onEnd);
      if (err) reject(err);
      else resolve(got);
    };
    const onEnd = () => done(new Error('connection ended mid-response'));
    const onData = (c: Buffer) => {
      if (buf) {
        buf = Buffer.concat([buf, c]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
        if (!m) return done(new Error(`no content-length: ${buf.subarray(0, end).toString('latin1').split('\r\n')[0]}`));
        want = Number(m[1]);
        got = buf.length - end - 4;
        buf = null;
      } else got += c.length;
      if (got >= want) done();
    };
    s.on('data', onData);
    s.once('error', done);
    s.once('end', onEnd);
    s.write(head);
  });
}

/** (7) keep-alive plain-HTTP request latency and (8) a 256 MiB plain-HTTP download, each against direct. */
async function httpRows(socketPath: string): Promise<void> {
  const vias: [string, 'direct' | string][] = [
    ['direct', 'direct'],
    ['gateway (unix socket)', socketPath],
  ];
  console.log(
    `\n(7) plain-HTTP keep-alive requests on one client connection (${N_HTTP} × GET, 4-byte body; medians of 3 interleaved rounds)`,
  );
  const lat = new Map<string, number[]>(vias.map(([n]) => [n, []]));
  for (let round = 0; round < 3; round++) {
    for (const [name, via] of vias) {
      const s = await dialHttp(via);
      for (let i = 0; i < 200; i++) await exchange(s, httpHead(via, '/ping')); // warm-up
      const xs: number[] = [];
      for (let i = 0; i < N_HTTP / 3; i++) {
        const t0 = performance.now();
        await exchange(s, httpHead(via, '/ping'));
        xs.push(performance.now() - t0);
      }
      s.destroy();
      lat.get(name)!.push(pct(xs, 50));
    }
  }
  const d50 = pct(lat.get('direct')!, 50);
  for (const [name] of vias) {
    const p50 = pct(lat.get(name)!, 50);
    console.log(`  ${name.padEnd(22)} p50 ${ms(p50)}` + (name === 'direct' ? '' : `  added p50 ${ms(p50 - d50)} (target ≤ 0.3 ms)`));
  }

  console.log(`\n(8) ${DOWNLOAD_BYTES / 2 ** 20} MiB plain-HTTP download (Node origin), median of ${DOWNLOAD_ROUNDS} interleaved rounds`);
  const rates = new Map<string, number[]>(vias.map(([n]) => [n, []]));
  for (let round = 0; round < DOWNLOAD_ROUNDS; round++) {
    for (const [name, via] of vias) {
      const s = await dialHttp(via);
      const t0 = performance.now();
      const n = await exchange(s, httpHead(via, `/bytes/${DOWNLOAD_BYTES}`));
      const secs = (performance.now() - t0) / 1000;
      s.destroy();
      if (n !== DOWNLOAD_BYTES) throw new Error(`download via ${name}: ${n} bytes`);
      rates.get(name)!.push(n / 2 ** 20 / secs);
    }
  }
  const base = pct(rates.get('direct')!, 50);
  for (const [name] of vias) {
    const xs = rates.get(name)!;
    const x = pct(xs, 50);
    console.log(
      `  ${name.padEnd(22)} ${x.toFixed(0)} MiB/s (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})` +
        (name === 'direct' ? '' : `  ${((x / base) * 100).toFixed(0)}% of direct (target ≥ 50%)`),
    );
  }
}

/**
 * (9) Gateway RSS on a fresh gateway: idle, after 10,000 plain-HTTP requests (50 clients at once,
 * a new client connection every 10 requests), and once every connection has closed and the
 * upstream pool's idle timeout has passed.
 */
async function memoryRow(gwPid: number, socketPath: string): Promise<void> {
  console.log(`\n(9) gateway RSS: idle → after ${LOAD_REQUESTS.toLocaleString('en')} plain-HTTP requests → after close`);
  await new Promise((r) => setTimeout(r, 500));
  const idle = rss(gwPid);
  const workers = 50;
  const perConn = 10;
  let next = 0;
  const worker = async () => {
    while (next < LOAD_REQUESTS) {
      const s = await dialHttp(socketPath);
      for (let i = 0; i < perConn && next < LOAD_REQUESTS; i++, next++) await exchange(s, httpHead(socketPath, `/ping?${next}`));
      s.destroy();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, worker));
  const loadMs = performance.now() - t0;
  const loaded = rss(gwPid);
  // Past the gateway's keep-alive (5 s) and upstream pool idle (4 s) timeouts.
  await new Promise((r) => setTimeout(r, 6000));
  const after = rss(gwPid);
  console.log(
    `  idle ${idle.toFixed(1)} MiB → ${loaded.toFixed(1)} MiB after load (${(loadMs / 1000).toFixed(1)} s) → ${after.toFixed(1)} MiB after close:` +
      ` ${(after / idle).toFixed(2)}× idle (target ≤ 1.10×)`,
  );
}

/** (3): one-way streams, native endpoints and Node endpoints, interleaved rounds. */
async function streamRows(dir: string, native: string | undefined, nsink: number, sink: number, targets: [string, Via][]): Promise<void> {
  console.log(`\n(3) ${STREAM_BYTES / 2 ** 20} MiB one-way stream`);
  if (native) {
    // Rounds interleave the paths so that a noisy neighbour hits them alike; medians are shown.
    console.log(`  native sender and sink (bench/stream.c), median of ${STREAM_ROUNDS} interleaved rounds:`);
    const socat = await startSocat(dir, nsink);
    const streamTargets: [string, StreamVia][] = [
      ...targets,
      ...(socat ? [['socat relay (no policy)', { kind: 'raw', path: socat.path }] as [string, StreamVia]] : []),
    ];
    const runs = new Map<string, number[]>(streamTargets.map(([name]) => [name, []]));
    for (let round = 0; round < STREAM_ROUNDS; round++) {
      for (const [name, via] of streamTargets) runs.get(name)!.push(nativeStream(native, via, nsink, STREAM_BYTES));
    }
    socat?.proc.kill();
    const base = pct(runs.get('direct')!, 50);
    for (const [name] of streamTargets) {
      const xs = runs.get(name)!;
      const x = pct(xs, 50);
      console.log(
        `    ${name.padEnd(24)} ${x.toFixed(0)} MiB/s (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})` +
          (name === 'direct' ? '' : `  ${((x / base) * 100).toFixed(0)}% of direct (target ≥ 80%)`),
      );
    }
    if (!socat) console.log('    (socat not installed: no plain-relay floor)');
  } else console.log('  native endpoints NOT available (no C compiler): only the Node figures below');
  console.log(`  Node sender and sink, median of ${STREAM_ROUNDS} interleaved rounds (on 2 cores these two alone keep the machine busy):`);
  const nodeRuns = new Map<string, number[]>(targets.map(([name]) => [name, []]));
  for (let round = 0; round < STREAM_ROUNDS; round++) {
    for (const [name, via] of targets) nodeRuns.get(name)!.push(await stream(via, sink, STREAM_BYTES));
  }
  const base3 = pct(nodeRuns.get('direct')!, 50);
  for (const [name] of targets) {
    const xs = nodeRuns.get(name)!;
    const x = pct(xs, 50);
    console.log(
      `    ${name.padEnd(24)} ${x.toFixed(0)} MiB/s (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})` +
        (name === 'direct' ? '' : `  ${((x / base3) * 100).toFixed(0)}% of direct`),
    );
  }
}

// ── servers (child process, so the bench client's event loop does not serve them) ─────────────
function serve(): void {
  const echo = createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => {});
    s.pipe(s);
  });
  // Sink: the first 8 bytes give the length; it answers once it has that many bytes, so the
  // measure does not depend on a proxy carrying half-closes (tinyproxy does not).
  const sink = createServer((s) => {
    let want = -1;
    let n = 0;
    let head = Buffer.alloc(0);
    s.on('error', () => {});
    s.on('data', (c: Buffer) => {
      if (want < 0) {
        head = Buffer.concat([head, c]);
        if (head.length < 8) return;
        want = Number(head.readBigUInt64BE(0));
        n = head.length - 8;
      } else n += c.length;
      if (n >= want) s.end(`${n}\n`);
    });
  });
  // Plain-HTTP origin: /ping answers 4 bytes, /bytes/N streams N bytes with backpressure.
  const chunk = Buffer.alloc(2 ** 20, 1);
  const web = createHttpServer((req, res) => {
    req.resume();
    const m = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(200, { 'content-length': 4 });
      res.end('pong');
      return;
    }
    let left = Number(m[1]);
    res.writeHead(200, { 'content-length': left });
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const port = (s: { address(): unknown }) => (s.address() as { port: number }).port;
  echo.listen(0, '127.0.0.1', () =>
    sink.listen(0, '127.0.0.1', () =>
      web.listen(0, '127.0.0.1', () =>
        process.stdout.write(JSON.stringify({ echo: port(echo), sink: port(sink), http: port(web) }) + '\n'),
      ),
    ),
  );
}

if (process.argv.includes('--serve')) serve();
else await main();
