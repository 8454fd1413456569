// The journal of the apply in progress: every step is written before it starts and after it
// ends, so after a crash the next apply can say where the last one stopped. Steps are idempotent
// and the next plan is computed from what really runs, so it converges from any point.
// journal.json is the whole record, written (atomically) when the apply starts, with every step
// pending, and when it ends; in between, each change of a step's state is a line appended to
// journal.log beside it (readJournal merges them). Steps of different sandboxes run side by side;
// the lines made while a write is in flight (or in one turn of the event loop) share the next
// append and its fdatasync, off the event loop. Rewriting the whole record for each of an apply of
// 100 sandboxes' ~800 state changes made the journal's writes grow with the square of the apply.
// A step still starts only once its "started" is on disk, and is reported done only once its "done" is.
//
// TEST HOOK: NEMOCLAW_CRASH_AFTER_STEP=N makes the process SIGKILL itself right after step N
// (1-based) is journaled as done. It exists for the fault-injection tests (test/reconciler) and is
// read nowhere else.
import { closeSync, fdatasync, mkdirSync, openSync, readFileSync, rmSync, write } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CoalescedWrites, writeFileAtomic } from '../util/atomic-write.js';

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

/** The log of a journal's step changes: journal.log beside journal.json. */
const logPath = (path: string) => path.replace(/\.json$/, '') + '.log';

interface LogLine {
  id: string;
  n: number;
  state: JournalStep['state'];
  error?: string;
}

/** The journal as it stands: journal.json with the step changes of its log applied. */
export function readJournal(path: string): JournalRecord | null {
  let rec: JournalRecord;
  try {
    rec = JSON.parse(readFileSync(path, 'utf8')) as JournalRecord;
  } catch {
    return null;
  }
  let log = '';
  try {
    log = readFileSync(logPath(path), 'utf8');
  } catch {
    return rec;
  }
  for (const line of log.split('\n')) {
    let l: LogLine;
    try {
      l = JSON.parse(line) as LogLine;
    } catch {
      continue; // the last line of a crash may be cut short: it was never acknowledged
    }
    const step = l.id === rec.id && rec.state === 'running' ? rec.steps?.[l.n - 1] : undefined;
    if (!step) continue;
    step.state = l.state;
    if (l.error !== undefined) step.error = l.error;
  }
  return rec;
}

export class Journal {
  private readonly rec: JournalRecord;
  private readonly crashAfter: number | null;
  /** journal.log, open for appending; the lines not yet written. */
  private readonly log: number;
  private lines: string[] = [];
  private readonly writes = new CoalescedWrites(() => this.append());

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
    // A fresh log for this record (a previous one's lines name another id, and are ignored anyway),
    // made before the record is saved: that save's fsync of the directory persists its entry too.
    mkdirSync(dirname(path), { recursive: true });
    this.log = openSync(logPath(path), 'w', 0o600);
    this.save();
  }

  get steps(): readonly JournalStep[] {
    return this.rec.steps;
  }

  async run<T>(n: number, f: () => Promise<T>): Promise<T> {
    const step = this.rec.steps[n - 1]!;
    this.change(step, 'started');
    await this.flush();
    let v: T;
    try {
      v = await f();
    } catch (e) {
      this.change(step, 'failed', (e as Error).message);
      await this.flush();
      throw e;
    }
    this.change(step, 'done');
    await this.flush();
    if (this.crashAfter === n) process.kill(process.pid, 'SIGKILL');
    return v;
  }

  /** Resolves once every change made so far is on disk (see CoalescedWrites). */
  private flush(): Promise<void> {
    return this.writes.save();
  }

  private change(step: JournalStep, state: JournalStep['state'], error?: string): void {
    step.state = state;
    if (error !== undefined) step.error = error;
    this.lines.push(JSON.stringify({ id: this.rec.id, n: step.n, state, ...(error !== undefined ? { error } : {}) }) + '\n');
  }

  /** Append the pending lines and fdatasync them, in the thread pool. */
  private append(): Promise<void> {
    const data = Buffer.from(this.lines.join(''));
    this.lines = [];
    return new Promise((resolve, reject) => {
      const rest = (off: number): void =>
        write(this.log, data, off, data.length - off, null, (err, n) => {
          if (err) return reject(err);
          if (off + n < data.length) return rest(off + n);
          fdatasync(this.log, (e) => (e ? reject(e) : resolve()));
        });
      rest(0);
    });
  }

  /** The final record, after any append still in flight; then the log it makes redundant goes. */
  async finish(ok: boolean): Promise<void> {
    await this.writes.settled();
    this.rec.state = ok ? 'done' : 'failed';
    this.rec.finished_at = new Date().toISOString();
    this.save();
    closeSync(this.log);
    rmSync(logPath(this.path), { force: true });
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
