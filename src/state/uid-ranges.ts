// Per-sandbox host id ranges, allocated and recorded by nemoclaw like subordinate ids
// (/etc/subuid), but in a part of the id space no distribution hands out: range n is
// FIRST + n*SIZE .. FIRST + n*SIZE + SIZE-1. A range belongs to a sandbox name, not to one run:
// the sandbox's data on disk is owned by ids of its range, so the range is kept while that data
// exists (also when it is kept aside by destroy) and freed only by `destroy --purge`.
// Record: <state>/uid-ranges/<n>, holding the sandbox's name. Creating it with O_EXCL is the
// allocation, so two concurrent starts can never get the same range. (An index by name beside
// the records finds a sandbox's without reading them all: see below.)
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Above every uid a distribution's useradd or systemd-homed/nspawn hands out (those stop below 0x70000000). */
export const FIRST_HOST_ID = 0x70000000;
export const RANGE_SIZE = 65536;
/** Ranges end below 2^32 - 2 (-1 and -2 are invalid/overflow ids, and the init's idmap marker sits there). */
export const MAX_RANGES = Math.floor((0xfffffffd - FIRST_HOST_ID) / RANGE_SIZE);

export interface UidRange {
  index: number;
  /** First host id: the sandbox's uid/gid N inside is host FIRST + N. */
  first: number;
}

const dirOf = (stateRoot: string) => join(stateRoot, 'uid-ranges');

function records(stateRoot: string): Map<number, string> {
  const out = new Map<number, string>();
  let names: string[] = [];
  try {
    names = readdirSync(dirOf(stateRoot));
  } catch {
    return out;
  }
  for (const f of names) {
    if (!/^\d+$/.test(f)) continue;
    try {
      out.set(Number(f), readFileSync(join(dirOf(stateRoot), f), 'utf8'));
    } catch {
      /* removed meanwhile */
    }
  }
  return out;
}

const range = (index: number): UidRange => ({ index, first: FIRST_HOST_ID + index * RANGE_SIZE });

// The index by name: <state>/uid-ranges/by-name/<sandbox>, a symlink to "<n>", made before the
// record <n> is, so that a sandbox has no record but where its link points. A lookup is a readlink
// and one read of the record it names (reading every record for each sandbox made starting the
// 100th sandbox read 100 files); the record is what counts, a link to a record that does not hold
// the sandbox is stale. by-name/.complete says every record has its link: a state directory from
// before the index gets its links from one scan of the records first.
const byName = (stateRoot: string) => join(dirOf(stateRoot), 'by-name');
const COMPLETE = '.complete';

function holds(stateRoot: string, index: number, sandbox: string): boolean {
  try {
    return readFileSync(join(dirOf(stateRoot), String(index)), 'utf8') === sandbox;
  } catch {
    return false;
  }
}

function linked(stateRoot: string, sandbox: string): number | null {
  try {
    const t = readlinkSync(join(byName(stateRoot), sandbox));
    return /^\d+$/.test(t) ? Number(t) : null;
  } catch {
    return null;
  }
}

function link(stateRoot: string, sandbox: string, index: number): boolean {
  try {
    symlinkSync(String(index), join(byName(stateRoot), sandbox));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Whether the index covers every record; if the records exist but it does not, give it their links first. */
function indexed(stateRoot: string): boolean {
  if (existsSync(join(byName(stateRoot), COMPLETE))) return true;
  const all = records(stateRoot);
  try {
    mkdirSync(byName(stateRoot), { recursive: true, mode: 0o700 });
    for (const [i, name] of [...all].sort((a, b) => a[0] - b[0]))
      if (NAME.test(name) && linked(stateRoot, name) === null) link(stateRoot, name, i);
    writeFileSync(join(byName(stateRoot), COMPLETE), '', { mode: 0o600 });
    return true;
  } catch {
    return false; // a directory this process cannot write: the records, read whole, answer
  }
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

function scan(stateRoot: string, sandbox: string): UidRange | null {
  for (const [i, name] of records(stateRoot)) if (name === sandbox) return range(i);
  return null;
}

/** The sandbox's range, if it has one. */
export function findUidRange(stateRoot: string, sandbox: string): UidRange | null {
  if (!existsSync(dirOf(stateRoot))) return null;
  if (!NAME.test(sandbox) || !indexed(stateRoot)) return scan(stateRoot, sandbox);
  const i = linked(stateRoot, sandbox);
  return i !== null && holds(stateRoot, i, sandbox) ? range(i) : null;
}

/** The sandbox's range, allocating the lowest free one on first use. */
export function allocateUidRange(stateRoot: string, sandbox: string): UidRange {
  const found = findUidRange(stateRoot, sandbox);
  if (found) return found;
  mkdirSync(dirOf(stateRoot), { recursive: true, mode: 0o700 });
  if (!NAME.test(sandbox) || !indexed(stateRoot)) throw new Error(`cannot allocate a host id range for ${sandbox} in ${dirOf(stateRoot)}`);
  const taken = new Set(
    readdirSync(dirOf(stateRoot))
      .filter((f) => /^\d+$/.test(f))
      .map(Number),
  );
  for (let i = 0; i < MAX_RANGES; i++) {
    if (taken.has(i)) continue;
    // The link first (a crash after it leaves a stale link, never a record without one).
    if (!link(stateRoot, sandbox, i)) {
      // A link already: its record, if it holds the sandbox (another process allocated it
      // meanwhile); else a stale one, replaced, once.
      const other = linked(stateRoot, sandbox);
      if (other !== null && holds(stateRoot, other, sandbox)) return range(other);
      rmSync(join(byName(stateRoot), sandbox), { force: true });
      if (!link(stateRoot, sandbox, i)) throw new Error(`another process is allocating a host id range for ${sandbox}; try again`);
    }
    try {
      writeFileSync(join(dirOf(stateRoot), String(i)), sandbox, { flag: 'wx', mode: 0o600 });
      return range(i);
    } catch (e) {
      rmSync(join(byName(stateRoot), sandbox), { force: true });
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error(`no free host id range left (${MAX_RANGES} in use)`);
}

/** Frees the ranges of these sandboxes (their data is gone: `destroy --purge`). */
export function freeUidRanges(stateRoot: string, sandboxes: Iterable<string>): void {
  const names = new Set(sandboxes);
  for (const [i, name] of records(stateRoot)) if (names.has(name)) rmSync(join(dirOf(stateRoot), String(i)), { force: true });
  for (const n of names) if (NAME.test(n)) rmSync(join(byName(stateRoot), n), { force: true });
}
