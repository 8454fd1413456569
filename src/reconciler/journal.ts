// The journal of the apply in progress: every step is written (atomically) before it starts and
// after it ends, so after a crash the next apply can say where the last one stopped. Steps are
// idempotent and the next plan is computed from what really runs, so it converges from any point.
// Steps of different sandboxes run side by side; the changes they make to the journal while a write
// is in flight (or in one turn of the event loop) share the next write, done off the event loop
// (an apply of 100 sandboxes has ~500 steps: a write, two fsyncs and the whole record per state
// change, on the event loop, made the journal the serial part of a large apply). A step still
// starts only once its "started" is on disk, and is reported done only once its "done" is.
//
// TEST HOOK: NEMOCLAW_CRASH_AFTER_STEP=N makes the process SIGKILL itself right after step N
// (1-based) is journaled as done. It exists for the fault-injection tests (test/reconciler) and is
// read nowhere else.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { CoalescedWrites, writeFileAtomic, writeFileAtomicAsync } from '../util/atomic-write.js';

export const CRASH_AFTER_STEP_ENV = 'NEMOCLAW_CRASH_AFTER_STEP';

export interface JournalStep {
  n: number;
  sandbox: string | null;
  description: string;
  state: 'pending' | 'started' | 'done' | 'failed';
  error?: string;
}

export interface JournalRecord {
  format_version: 1;
  id: string;
  pid: number;
  started_at: string;
  finished_at: string | null;
  state: 'running' | 'done' | 'failed';
  steps: JournalStep[];
}

export function readJournal(path: string): JournalRecord | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as JournalRecord;
  } catch {
    return null;
  }
}

export class Journal {
  private readonly rec: JournalRecord;
  private readonly crashAfter: number | null;
  private readonly writes = new CoalescedWrites(() => writeFileAtomicAsync(this.path, this.text(), { mode: 0o600 }));

  constructor(
    private readonly path: string,
    steps: { sandbox: string | null; description: string }[],
  ) {
    this.rec = {
      format_version: 1,
      id: randomBytes(6).toString('hex'),
      pid: process.pid,
      started_at: new Date().toISOString(),
      finished_at: null,
      state: 'running',
      steps: steps.map((s, i) => ({ n: i + 1, ...s, state: 'pending' })),
    };
    const n = Number(process.env[CRASH_AFTER_STEP_ENV]);
    this.crashAfter = Number.isInteger(n) && n > 0 ? n : null;
    this.save();
  }

  get steps(): readonly JournalStep[] {
    return this.rec.steps;
  }

  async run<T>(n: number, f: () => Promise<T>): Promise<T> {
    const step = this.rec.steps[n - 1]!;
    step.state = 'started';
    await this.flush();
    let v: T;
    try {
      v = await f();
    } catch (e) {
      step.state = 'failed';
      step.error = (e as Error).message;
      await this.flush();
      throw e;
    }
    step.state = 'done';
    await this.flush();
    if (this.crashAfter === n) process.kill(process.pid, 'SIGKILL');
    return v;
  }

  /** Resolves once every change made so far is on disk (see CoalescedWrites). */
  private flush(): Promise<void> {
    return this.writes.save();
  }

  /** The final record; written after any write still in flight, so nothing older lands over it. */
  async finish(ok: boolean): Promise<void> {
    await this.writes.settled();
    this.rec.state = ok ? 'done' : 'failed';
    this.rec.finished_at = new Date().toISOString();
    this.save();
  }

  private text(): string {
    return JSON.stringify(this.rec, null, 2) + '\n';
  }

  private save(): void {
    writeFileAtomic(this.path, this.text(), { mode: 0o600 });
  }
}

/** "the apply of <time> stopped at step 3 of 7 (start assistant)" for a journal left running. */
export function interruptedNote(j: JournalRecord | null): string | null {
  if (!j || j.state !== 'running') return null;
  const last = [...j.steps].reverse().find((s) => s.state !== 'pending');
  const where = last
    ? `after step ${last.n} of ${j.steps.length} (${last.description}${last.state === 'started' ? ', unfinished' : ''})`
    : 'before its first step';
  return `the apply started ${j.started_at} (pid ${j.pid}) was interrupted ${where}; this run converges from what is observed`;
}
