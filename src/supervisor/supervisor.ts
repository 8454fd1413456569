// Keeps embedded sandboxes running inside the gateway daemon: starts them through the process
// runtime from the verified blueprint store, restarts them with exponential backoff when they
// exit, appends their output to a log file, and remembers what should run so a restarted daemon
// brings the same sandboxes back. The reconciler drives it through the control API (routes.ts).
import { appendFileSync, closeSync, open, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { CoalescedWrites, writeFileAtomic, writeFileAtomicAsync } from '../util/atomic-write.js';
import { procStartTime } from '../util/proc.js';
import { reconcilerLayout } from '../state/layout.js';
import { StateStore, type SupervisorPids } from '../state/store.js';
import { LOCKED_FILES, type ProcessState } from '../state/types.js';
import { notEnforced, type EnforcementReport } from '../init-protocol/report.js';
import type { RunningSandbox, StartOptions } from '../runtime/process/start.js';

export interface SupervisedStatus {
  name: string;
  digest: string;
  state: ProcessState;
  pid: number | null;
  restarts: number;
  started_at: string | null;
  report: EnforcementReport | null;
  seccomp_digest: string | null;
  last_exit: { code: number; at: string; reason?: string } | null;
  last_error: string | null;
  log: string;
  warnings: string[];
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** a run this long resets the backoff */ resetAfterMs: number;
}

export interface SupervisorOptions {
  stateDir: string;
  /** The process runtime's startSandbox; injectable for tests. */
  start: (o: StartOptions) => Promise<RunningSandbox>;
  backoff?: Backoff;
  log?: (line: string) => void;
  /** Rotate agent.log to agent.log.1 when it is larger than this at a (re)start. */
  maxLogBytes?: number;
  /** Called at each start whose report names mechanisms best_effort left unenforced (for the audit log). */
  onDegraded?: (name: string, notEnforced: string[]) => void;
}

interface Entry {
  name: string;
  digest: string;
  running: RunningSandbox | null;
  status: SupervisedStatus;
  timer: NodeJS.Timeout | null;
  failures: number;
  /** Bumped on every stop/replace so exit handlers of an old run do nothing. */
  epoch: number;
  /** /proc start time of `running`'s pid, read once at launch (pids.json tells a reused pid by it). */
  start: string | null;
}

export type EnsureResult = 'started' | 'retagged' | 'unchanged' | 'restarted';

const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly store: StateStore;
  private readonly backoff: Backoff;
  private readonly log: (line: string) => void;
  private readonly desiredFile: string;
  private readonly pidsFile: string;
  /**
   * Set when restore could not read desired.json or pids.json: what a previous daemon ran is then
   * unknown, so this one starts nothing, overwrites neither file, and says so in every listing.
   */
  private unreadable: string | null = null;
  private stopping = false;
  private restoring: Promise<void> = Promise.resolve();
  /** desired.json, by group commit off the event loop: the ensures and stops of one moment share a write. */
  private readonly desiredWrites = new CoalescedWrites(() => writeFileAtomicAsync(this.desiredFile, this.desiredText(), { mode: 0o600 }));
  /** pids.json likewise (not fsynced: it only matters while the host stays up). */
  private readonly pidsWrites = new CoalescedWrites(() =>
    writeFileAtomicAsync(this.pidsFile, this.pidsText(), { mode: 0o600, durable: false }),
  );

  constructor(private readonly o: SupervisorOptions) {
    this.store = new StateStore(o.stateDir);
    this.backoff = o.backoff ?? DEFAULT_BACKOFF;
    this.log = o.log ?? (() => {});
    const layout = reconcilerLayout(o.stateDir);
    this.desiredFile = layout.supervisorDesired;
    this.pidsFile = layout.supervisorPids;
  }

  /** One operation per sandbox at a time; different sandboxes proceed in parallel. */
  private serial<T>(name: string, f: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(name) ?? Promise.resolve();
    const next = prev.then(f, f);
    this.queues.set(
      name,
      next.catch(() => {}),
    );
    return next;
  }

  /**
   * After a daemon restart: kill sandboxes a previous daemon left (their init normally dies with
   * it through PDEATHSIG; this covers the rest), then start what should run. Runs in the
   * background; `ready()` resolves when it is done.
   */
  restore(): Promise<void> {
    this.restoring = (async () => {
      let pids: SupervisorPids;
      let desired: Record<string, string>;
      try {
        pids = this.store.readSupervisorPids();
        desired = this.store.readSupervisorDesired();
      } catch (e) {
        this.unreadable = `${(e as Error).message}, then restart the gateway (nemoclaw gateway stop)`;
        this.log(`supervisor: ${this.unreadable}`);
        return;
      }
      for (const [name, p] of Object.entries(pids)) {
        if (procStartTime(p.pid) === p.start) {
          this.log(`supervisor: killing ${name} (pid ${p.pid}) left by a previous daemon`);
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      this.savePids();
      await Promise.all(
        Object.entries(desired).map(([name, digest]) =>
          this.ensure(name, digest).catch((e) => this.log(`supervisor: cannot restore ${name}: ${(e as Error).message}`)),
        ),
      );
    })();
    return this.restoring;
  }

  /** Why what runs is unknown (a state file could not be read at restore), or null. */
  unknownReason(): string | null {
    return this.unreadable;
  }

  ready(): Promise<void> {
    return this.restoring;
  }

  list(): SupervisedStatus[] {
    return [...this.entries.values()].map((e) => ({ ...e.status })).sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): SupervisedStatus | undefined {
    const e = this.entries.get(name);
    return e ? { ...e.status } : undefined;
  }

  /**
   * Make NAME run blueprint DIGEST. If it already runs a blueprint whose locked parts are the
   * same (only egress or metadata differ), it keeps running and is just re-labelled; otherwise it
   * is (re)started. Resolves once the init reported its enforcement; rejects if it refused.
   */
  ensure(name: string, digest: string): Promise<{ result: EnsureResult; status: SupervisedStatus }> {
    return this.serial(name, async () => {
      if (this.unreadable) throw new Error(`the supervisor does not know what runs: ${this.unreadable}`);
      const bp = this.store.loadBlueprint(name, digest); // verifies every digest: fails closed on edits
      if (bp.artifacts.sandbox.runtime !== 'process')
        throw new Error(`${name} uses runtime ${bp.artifacts.sandbox.runtime}; the supervisor runs process sandboxes`);
      let e = this.entries.get(name);
      let result: EnsureResult = 'started';
      if (e && e.running && e.status.state === 'running') {
        if (e.digest === digest) return { result: 'unchanged' as const, status: { ...e.status } };
        const old = this.tryLoad(name, e.digest);
        if (old && LOCKED_FILES.every((f) => old.files[f] === bp.files[f])) {
          e.digest = e.status.digest = digest;
          await this.saveDesired();
          return { result: 'retagged' as const, status: { ...e.status } };
        }
      }
      if (e) {
        await this.halt(e);
        result = 'restarted';
      } else {
        e = this.newEntry(name, digest);
        this.entries.set(name, e);
      }
      e.digest = e.status.digest = digest;
      e.failures = 0;
      await this.saveDesired(); // on disk before it starts: a restarted daemon brings it back
      await this.launch(e, bp);
      return { result, status: { ...e.status } };
    });
  }

  /** Stop NAME and forget it. Resolves when all its processes are gone. */
  stop(name: string): Promise<boolean> {
    return this.serial(name, async () => {
      const e = this.entries.get(name);
      if (!e) {
        await this.saveDesired();
        return false;
      }
      await this.halt(e);
      this.entries.delete(name);
      this.savePids();
      await this.saveDesired();
      return true;
    });
  }

  /** Daemon shutdown: stop every sandbox but keep desired.json, so the next daemon restores them. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.entries.values()].map((e) => this.serial(e.name, () => this.halt(e))));
    await Promise.all([this.desiredWrites.settled(), this.pidsWrites.settled()]);
    this.writePids(); // now: the process exits next
  }

  private newEntry(name: string, digest: string): Entry {
    const log = reconcilerLayout(this.o.stateDir).logFile(name);
    return {
      name,
      digest,
      running: null,
      timer: null,
      failures: 0,
      epoch: 0,
      start: null,
      status: {
        name,
        digest,
        state: 'stopped',
        pid: null,
        restarts: 0,
        started_at: null,
        report: null,
        seccomp_digest: null,
        last_exit: null,
        last_error: null,
        log,
        warnings: [],
      },
    };
  }

  private tryLoad(name: string, digest: string) {
    try {
      return this.store.loadBlueprint(name, digest);
    } catch {
      return null;
    }
  }

  private async halt(e: Entry): Promise<void> {
    e.epoch++;
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    const r = e.running;
    e.running = null;
    e.start = null;
    if (r) {
      const st = await r.stop(5000);
      e.status.last_exit = { code: st.code, at: new Date().toISOString(), reason: st.reason };
    }
    e.status.state = 'stopped';
    e.status.pid = null;
  }

  private appendLog(path: string, line: string): void {
    try {
      appendFileSync(path, line, { mode: 0o600 });
    } catch {
      /* the status still says it */
    }
  }

  /** The agent's log, opened for appending (rotated first when large), in the thread pool. */
  private async openLog(path: string): Promise<number> {
    await fsp.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    try {
      if ((await fsp.stat(path)).size > (this.o.maxLogBytes ?? 8 * 1024 * 1024)) await fsp.rename(path, `${path}.1`);
    } catch {
      /* none yet, or keep appending */
    }
    return new Promise((resolve, reject) => open(path, 'a', 0o600, (err, fd) => (err ? reject(err) : resolve(fd))));
  }

  /** Start one run; on failure records the error and rethrows. */
  private async launch(e: Entry, loaded?: ReturnType<StateStore['loadBlueprint']>): Promise<void> {
    const epoch = e.epoch;
    const bp = loaded ?? this.store.loadBlueprint(e.name, e.digest);
    const fd = await this.openLog(e.status.log);
    let r: RunningSandbox;
    try {
      r = await this.o.start({ artifacts: bp.artifacts, stateDir: this.o.stateDir, stdio: ['ignore', fd, fd] });
    } catch (err) {
      e.status.state = 'failed';
      e.status.last_error = (err as Error).message;
      e.status.pid = null;
      throw err;
    } finally {
      closeSync(fd);
    }
    if (epoch !== e.epoch || this.stopping) {
      await r.stop(1000); // stopped or replaced while it was starting
      return;
    }
    const startedAt = Date.now();
    e.running = r;
    e.start = procStartTime(r.pid);
    Object.assign(e.status, {
      state: 'running',
      pid: r.pid,
      started_at: new Date(startedAt).toISOString(),
      report: r.report,
      seccomp_digest: r.seccomp.digest,
      last_error: null,
      warnings: r.warnings,
    });
    this.savePids();
    this.log(`supervisor: ${e.name} running (pid ${r.pid}, ${e.digest.slice(0, 19)}…)`);
    const missing = r.report ? notEnforced(r.report) : [];
    if (missing.length > 0) this.o.onDegraded?.(e.name, missing);
    void r.wait().then((st) => {
      if (epoch !== e.epoch || this.stopping) return;
      e.running = null;
      e.start = null;
      e.status.pid = null;
      e.status.last_exit = { code: st.code, at: new Date().toISOString(), reason: st.reason };
      e.status.last_error = st.reason;
      // In the agent's own log too, so `nemoclaw logs` says why the output stops there.
      if (st.oomKilled) this.appendLog(e.status.log, `nemoclaw: ${e.name}: ${st.reason}\n`);
      if (Date.now() - startedAt >= this.backoff.resetAfterMs) e.failures = 0;
      this.scheduleRestart(e);
    });
  }

  private scheduleRestart(e: Entry): void {
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** e.failures);
    e.failures++;
    e.status.state = 'backoff';
    this.savePids();
    this.log(`supervisor: ${e.name} exited (${e.status.last_error}); restarting in ${delay} ms`);
    const epoch = e.epoch;
    e.timer = setTimeout(() => {
      e.timer = null;
      void this.serial(e.name, async () => {
        if (epoch !== e.epoch || this.stopping || this.entries.get(e.name) !== e) return;
        e.status.restarts++;
        try {
          await this.launch(e);
        } catch (err) {
          this.log(`supervisor: ${e.name} failed to restart: ${(err as Error).message}`);
          if (epoch === e.epoch && !this.stopping) this.scheduleRestart(e);
        }
      });
    }, delay);
    e.timer.unref();
  }

  /** Resolves once desired.json holds every change made so far. */
  private saveDesired(): Promise<void> {
    if (this.unreadable) return Promise.resolve(); // keep the unreadable file for the operator
    return this.desiredWrites.save();
  }

  private desiredText(): string {
    const desired = Object.fromEntries([...this.entries.values()].map((e) => [e.name, e.digest]).sort());
    return JSON.stringify(desired, null, 2) + '\n';
  }

  /**
   * pids.json: the changes made while a write is in flight (or in one event-loop turn) share the
   * next one, written in the thread pool. Each entry's start time was read at launch.
   */
  private savePids(): void {
    if (this.unreadable) return;
    this.pidsWrites.save().catch((err: Error) => this.log(`supervisor: cannot write ${this.pidsFile}: ${err.message}`));
  }

  private pidsText(): string {
    const pids: Record<string, { pid: number; start: string }> = {};
    for (const e of this.entries.values()) if (e.running && e.start) pids[e.name] = { pid: e.running.pid, start: e.start };
    return JSON.stringify(pids) + '\n';
  }

  /** Now, synchronously (the daemon is stopping). */
  private writePids(): void {
    if (this.unreadable) return;
    try {
      writeFileAtomic(this.pidsFile, this.pidsText(), { mode: 0o600, durable: false });
    } catch (err) {
      this.log(`supervisor: cannot write ${this.pidsFile}: ${(err as Error).message}`);
    }
  }
}
