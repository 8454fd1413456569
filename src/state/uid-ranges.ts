// Per-sandbox host id ranges, allocated and recorded by nemoclaw like subordinate ids
// (/etc/subuid), but in a part of the id space no distribution hands out: range n is
// FIRST + n*SIZE .. FIRST + n*SIZE + SIZE-1. A range belongs to a sandbox name, not to one run:
// the sandbox's data on disk is owned by ids of its range, so the range is kept while that data
// exists (also when it is kept aside by destroy) and freed only by `destroy --purge`.
// Record: <state>/uid-ranges/<n>, holding the sandbox's name. Creating it with O_EXCL is the
// allocation, so two concurrent starts can never get the same range.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * Ranges this process found or allocated, by state directory and sandbox: a hint only, checked
 * against the record it names before use (one read instead of reading every record: a daemon
 * starting 100 sandboxes read 100 records for each). A record freed or given to another sandbox
 * since then fails the check, and the records are read again.
 */
const known = new Map<string, Map<string, number>>();

function remember(stateRoot: string, sandbox: string, index: number): void {
  let m = known.get(stateRoot);
  if (!m) known.set(stateRoot, (m = new Map()));
  m.set(sandbox, index);
}

function stillHolds(stateRoot: string, index: number, sandbox: string): boolean {
  try {
    return readFileSync(join(dirOf(stateRoot), String(index)), 'utf8') === sandbox;
  } catch {
    return false;
  }
}

function lookup(stateRoot: string, sandbox: string, all: Map<number, string>): UidRange | null {
  for (const [i, name] of all)
    if (name === sandbox) {
      remember(stateRoot, sandbox, i);
      return range(i);
    }
  return null;
}

/** The sandbox's range, if it has one. */
export function findUidRange(stateRoot: string, sandbox: string): UidRange | null {
  const hint = known.get(stateRoot)?.get(sandbox);
  if (hint !== undefined && stillHolds(stateRoot, hint, sandbox)) return range(hint);
  known.get(stateRoot)?.delete(sandbox);
  return lookup(stateRoot, sandbox, records(stateRoot));
}

/** The sandbox's range, allocating the lowest free one on first use. */
export function allocateUidRange(stateRoot: string, sandbox: string): UidRange {
  const hint = known.get(stateRoot)?.get(sandbox);
  if (hint !== undefined && stillHolds(stateRoot, hint, sandbox)) return range(hint);
  known.get(stateRoot)?.delete(sandbox);
  const taken = records(stateRoot);
  const found = lookup(stateRoot, sandbox, taken);
  if (found) return found;
  mkdirSync(dirOf(stateRoot), { recursive: true, mode: 0o700 });
  for (let i = 0; i < MAX_RANGES; i++) {
    if (taken.has(i)) continue;
    try {
      writeFileSync(join(dirOf(stateRoot), String(i)), sandbox, { flag: 'wx', mode: 0o600 });
      remember(stateRoot, sandbox, i);
      return range(i);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error(`no free host id range left (${MAX_RANGES} in use)`);
}

/** Frees the ranges of these sandboxes (their data is gone: `destroy --purge`). */
export function freeUidRanges(stateRoot: string, sandboxes: Iterable<string>): void {
  const names = new Set(sandboxes);
  for (const n of names) known.get(stateRoot)?.delete(n);
  for (const [i, name] of records(stateRoot)) if (names.has(name)) rmSync(join(dirOf(stateRoot), String(i)), { force: true });
}
