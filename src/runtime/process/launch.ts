// Starting the init process, in this thread or in a worker thread. child_process.spawn blocks its
// thread until the child has exec'd (libuv forks, then waits on a pipe for the exec): 10–30 ms a
// sandbox on a busy host, during which nothing else in that thread runs. The gateway daemon, which
// starts every embedded sandbox and proxies their traffic on one event loop, starts them from a
// worker: the fork and the wait happen there, the spec and BPF are written and the report read
// there, and the daemon's thread only sees the pid, the report line and the exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';

export type Stdio = 'inherit' | 'pipe' | 'ignore' | number;

export interface LaunchOptions {
  file: string;
  stdio: [Stdio, Stdio, Stdio];
  /** Written to fd 3 and fd 4, each then closed. */
  spec: Buffer;
  bpf: Buffer;
}

export interface Launched {
  pid: number | undefined;
  /** First line of fd 5, or null at its end without one. */
  report: Promise<string | null>;
  /** Exit code, or 128 + signal; `error` when the process could not be started at all. */
  exit: Promise<{ code: number; error: boolean }>;
  /** Whether the exit has been seen. */
  exited(): boolean;
  kill(signal: NodeJS.Signals): void;
  /** In-thread launches only. */
  child?: ChildProcess;
}

const exitCode = (code: number | null, signal: NodeJS.Signals | null) => code ?? 128 + (signal ? constants.signals[signal] : 0);

/** First line from the report pipe, or null at EOF without one (the init died before reporting). */
function readReportLine(stream: Readable): Promise<string | null> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (v: string | null) => {
      stream.removeAllListeners('data');
      resolve(v);
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(buf.slice(0, nl));
    });
    stream.on('end', () => done(buf.trim() ? buf.trim() : null));
    stream.on('error', () => done(null));
  });
}

/** In this thread: the child process is the caller's too (tests read its stdio). */
export function launchHere(o: LaunchOptions): Launched {
  // The init needs no environment of its own: the agent's comes from the spec.
  const child = spawn(o.file, [], { stdio: [...o.stdio, 'pipe', 'pipe', 'pipe'], env: {} });
  let done = false;
  const exit = new Promise<{ code: number; error: boolean }>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      resolve({ code: exitCode(code, signal), error: false });
    });
    child.on('error', () => {
      done = true;
      resolve({ code: 0, error: true });
    });
  });
  const [specPipe, bpfPipe, reportPipe] = [child.stdio[3] as Writable, child.stdio[4] as Writable, child.stdio[5 as number] as Readable];
  for (const p of [specPipe, bpfPipe])
    p.on('error', () => {
      /* init died early; the report says why */
    });
  specPipe.end(o.spec);
  bpfPipe.end(o.bpf);
  return {
    pid: child.pid,
    report: readReportLine(reportPipe),
    exit,
    exited: () => done || child.exitCode !== null || child.signalCode !== null,
    kill: (signal) => void child.kill(signal),
    child,
  };
}

// The workers (see MAX_SPAWNERS), started on first use, kept while children live. Plain JavaScript
// run with `eval` (nothing to resolve: it works the same from a bundle and from tsc's output).
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const children = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'kill') {
    const c = children.get(m.id);
    if (c && c.exitCode === null && c.signalCode === null) c.kill(m.signal);
    return;
  }
  let child;
  try {
    child = spawn(m.file, [], { stdio: [...m.stdio, 'pipe', 'pipe', 'pipe'], env: {} });
  } catch (e) {
    parentPort.postMessage({ id: m.id, op: 'report', line: null });
    parentPort.postMessage({ id: m.id, op: 'exit', code: 0, error: true });
    return;
  }
  children.set(m.id, child);
  parentPort.postMessage({ id: m.id, op: 'pid', pid: child.pid });
  child.on('exit', (code, signal) => {
    children.delete(m.id);
    parentPort.postMessage({ id: m.id, op: 'exit', code: code ?? 128 + (signal ? constants.signals[signal] : 0), error: false });
  });
  child.on('error', () => {
    children.delete(m.id);
    parentPort.postMessage({ id: m.id, op: 'exit', code: 0, error: true });
  });
  for (const fd of [3, 4]) child.stdio[fd].on('error', () => {});
  child.stdio[3].end(Buffer.from(m.spec));
  child.stdio[4].end(Buffer.from(m.bpf));
  const r = child.stdio[5];
  let buf = '';
  let sent = false;
  const report = (line) => {
    if (sent) return;
    sent = true;
    r.removeAllListeners('data');
    parentPort.postMessage({ id: m.id, op: 'report', line });
  };
  r.setEncoding('utf8');
  r.on('data', (chunk) => {
    buf += chunk;
    const nl = buf.indexOf('\\n');
    if (nl >= 0) report(buf.slice(0, nl));
  });
  r.on('end', () => report(buf.trim() ? buf.trim() : null));
  r.on('error', () => report(null));
});
`;

interface Pending {
  pid: (pid: number | undefined) => void;
  report: (line: string | null) => void;
  exit: (e: { code: number; error: boolean }) => void;
  /** The exit was seen. */
  done: boolean;
  reported: boolean;
  /** The fork is over (the pid, or the exit of a child that could not start, came back). */
  forked: boolean;
}

interface Spawner {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Spawns posted whose pid has not come back: the fork and exec still under way. */
  forking: number;
}

/**
 * Up to this many workers: a fork waits for its child to be scheduled and exec, so on a busy
 * host one worker's forks queue behind each other (16 sandboxes starting at once); a worker is
 * added only when every one is in the middle of a fork, and kept while its children live.
 */
const MAX_SPAWNERS = 4;
const spawners: Spawner[] = [];
let nextId = 1;

function newSpawner(): Spawner {
  const w = new Worker(WORKER, { eval: true });
  const sp: Spawner = { worker: w, pending: new Map(), forking: 0 };
  w.on(
    'message',
    (m: { id: number; op: 'pid' | 'report' | 'exit'; pid?: number; line?: string | null; code?: number; error?: boolean }) => {
      const p = sp.pending.get(m.id);
      if (!p) return;
      if (!p.forked) {
        p.forked = true;
        sp.forking--;
      }
      if (m.op === 'pid') p.pid(m.pid);
      else if (m.op === 'report') {
        p.reported = true;
        p.report(m.line ?? null);
      } else {
        // The report is not settled here: as in this thread, it is the pipe's (a fast agent may exit before its report is read).
        p.done = true;
        p.pid(undefined);
        p.exit({ code: m.code ?? 0, error: m.error === true });
      }
      if (p.done && p.reported) {
        sp.pending.delete(m.id);
        if (sp.pending.size === 0) w.unref();
      }
    },
  );
  // A worker that dies takes nothing with it but its bookkeeping: say each of its children exited.
  const lost = () => {
    const i = spawners.indexOf(sp);
    if (i >= 0) spawners.splice(i, 1);
    for (const [id, p] of sp.pending) {
      p.done = p.reported = true;
      p.pid(undefined);
      p.report(null);
      p.exit({ code: 0, error: true });
      sp.pending.delete(id);
    }
  };
  w.on('error', lost);
  w.on('exit', lost);
  spawners.push(sp);
  return sp;
}

function spawner(): Spawner {
  const idle = spawners.find((s) => s.forking === 0);
  if (idle) return idle;
  if (spawners.length < MAX_SPAWNERS) return newSpawner();
  return spawners.reduce((a, b) => (b.forking < a.forking ? b : a));
}

/**
 * In a worker thread. STDIO may name file descriptors of this process (they are the worker's
 * too) but not 'pipe'. Resolves once the child exists (or could not be started).
 */
export async function launchInWorker(o: LaunchOptions): Promise<Launched> {
  if (o.stdio.includes('pipe')) throw new Error('launchInWorker: the stdio of a child started in a worker cannot be a pipe');
  const sp = spawner();
  const w = sp.worker;
  w.ref();
  sp.forking++;
  const id = nextId++;
  let pidOf!: (pid: number | undefined) => void;
  let reportOf!: (line: string | null) => void;
  let exitOf!: (e: { code: number; error: boolean }) => void;
  const pid = new Promise<number | undefined>((r) => (pidOf = r));
  const report = new Promise<string | null>((r) => (reportOf = r));
  const exit = new Promise<{ code: number; error: boolean }>((r) => (exitOf = r));
  const p: Pending = { pid: pidOf, report: reportOf, exit: exitOf, done: false, reported: false, forked: false };
  sp.pending.set(id, p);
  w.postMessage({ op: 'spawn', id, file: o.file, stdio: o.stdio, spec: o.spec, bpf: o.bpf });
  return {
    pid: await pid,
    report,
    exit,
    exited: () => p.done,
    kill: (signal) => {
      if (!p.done) w.postMessage({ op: 'kill', id, signal });
    },
  };
}
