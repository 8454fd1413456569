// The reconciler's persistent state: the inventory (what nemoclaw created), the content-addressed
// blueprint store (exact bytes of every applied blueprint, so status can spot hand edits and
// rollback can re-apply an old generation), and the numbered generations. Every write is atomic.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { sha256 } from '../compiler/canonical.js';
import type { CompiledSandbox, SandboxArtifacts } from '../compiler/artifacts.js';
import { UserError } from '../util/errors.js';
import { CoalescedWrites, fsyncDirAsync, writeFileAtomic, writeFileAtomicAsync, writeFilesAtomicAsync } from '../util/atomic-write.js';
import { reconcilerLayout, type ReconcilerLayout } from './layout.js';
import { BLUEPRINT_FILES, type BlueprintFile, type DesiredSandbox, type Generation, type Inventory, type InventoryEntry } from './types.js';

const EMPTY: Inventory = { format_version: 1, sandboxes: {} };
const inventoryText = (inv: Inventory) => JSON.stringify(inv, null, 2) + '\n';

/** The supervisor's pids file: what a previous daemon started, to kill what it left behind. */
export type SupervisorPids = Record<string, { pid: number; start: string }>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A state file's JSON, or undefined when the file does not exist. Fail closed: a file that cannot
 * be read, is not JSON or fails `valid` is an error naming it, never mistaken for an empty state
 * ("nothing was created", "nothing should run").
 */
function readJson<T>(path: string, what: string, valid: (v: unknown) => v is T): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read ${what} ${path}: ${(e as Error).message}`, [], 1);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UserError(`${what} ${path} is not valid JSON; restore it or remove it by hand`, [], 1);
  }
  if (!valid(v)) throw new UserError(`${what} ${path} has an unknown format; restore it or remove it by hand`, [], 1);
  return v;
}

const isInventory = (v: unknown): v is Inventory =>
  isRecord(v) &&
  v.format_version === 1 &&
  isRecord(v.sandboxes) &&
  Object.entries(v.sandboxes).every(
    ([n, e]) => isRecord(e) && e.name === n && typeof e.blueprint_digest === 'string' && isRecord(e.artifacts),
  );
const isGeneration = (v: unknown): v is Generation =>
  isRecord(v) && v.format_version === 1 && Number.isInteger(v.number) && isRecord(v.sandboxes);
const isDesiredMap = (v: unknown): v is Record<string, string> => isRecord(v) && Object.values(v).every((d) => typeof d === 'string');
const isPids = (v: unknown): v is SupervisorPids =>
  isRecord(v) && Object.values(v).every((p) => isRecord(p) && Number.isInteger(p.pid) && typeof p.start === 'string');

export class StateStore {
  readonly layout: ReconcilerLayout;
  constructor(readonly root: string) {
    this.layout = reconcilerLayout(root);
  }

  ensureRoot(): void {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
  }

  /**
   * While an apply runs (batchInventory … endInventoryBatch) the inventory lives in memory and
   * is written by group commit, off the event loop: the updates made while a write is in flight
   * (or in one event-loop turn) share the next write. Rewriting and fsyncing the whole file for
   * each of a 100-sandbox apply's ~400 updates was most of its serial cost.
   */
  private batch: { inv: Inventory; writes: CoalescedWrites; write: Promise<void> | undefined } | undefined;

  readInventory(): Inventory {
    if (this.batch) return structuredClone(this.batch.inv);
    return readJson(this.layout.inventory, 'inventory', isInventory) ?? structuredClone(EMPTY);
  }

  /** One entry, without copying the whole inventory (undefined: not recorded). */
  readEntry(name: string): InventoryEntry | undefined {
    if (this.batch) {
      const e = this.batch.inv.sandboxes[name];
      return e && structuredClone(e);
    }
    return this.readInventory().sandboxes[name];
  }

  writeInventory(inv: Inventory): void {
    if (this.batch) this.batch.inv = structuredClone(inv);
    this.writeInventoryFile(inv);
  }

  private writeInventoryFile(inv: Inventory): void {
    this.ensureRoot();
    writeFileAtomic(this.layout.inventory, inventoryText(inv), { mode: 0o600 });
  }

  /** Read-modify-write of one entry (callers hold the apply lock). In a batch, durable once inventoryWritten() resolves. */
  updateEntry(name: string, f: (e: InventoryEntry | undefined) => InventoryEntry | undefined): void {
    const inv = this.batch?.inv ?? this.readInventory();
    const next = f(inv.sandboxes[name]);
    if (next) inv.sandboxes[name] = next;
    else delete inv.sandboxes[name];
    if (this.batch) this.batch.write = this.batch.writes.save();
    else this.writeInventory(inv);
  }

  /** Start keeping the inventory in memory (see `batch`). */
  batchInventory(): void {
    if (this.batch) return;
    this.ensureRoot();
    const b: NonNullable<StateStore['batch']> = {
      inv: this.readInventory(),
      writes: new CoalescedWrites(() => writeFileAtomicAsync(this.layout.inventory, inventoryText(b.inv), { mode: 0o600 })),
      write: undefined,
    };
    this.batch = b;
  }

  /** Resolves once every update made so far is on disk. */
  inventoryWritten(): Promise<void> {
    return this.batch?.write ?? Promise.resolve();
  }

  /** Write what is pending (after any write still in flight) and read from disk again. */
  async endInventoryBatch(): Promise<void> {
    const b = this.batch;
    if (!b) return;
    await b.writes.settled();
    this.batch = undefined;
    if (b.write) this.writeInventoryFile(b.inv);
  }

  /** Store a blueprint's exact bytes under its digest (idempotent). */
  storeBlueprint(sb: DesiredSandbox): string {
    const dir = this.layout.blueprintDir(sb.digest);
    mkdirSync(dir, { recursive: true, mode: 0o700 }); // sandbox.json holds the agent's env
    for (const f of BLUEPRINT_FILES) {
      const path = join(dir, f);
      if (existsSync(path) && readFileSync(path, 'utf8') === sb.files[f]) continue;
      writeFileAtomic(path, sb.files[f], { mode: 0o600 });
    }
    return dir;
  }

  /**
   * storeBlueprint off the event loop: the files that are missing or differ are written side by
   * side and the directory is fsynced once (apply stores one blueprint per sandbox it starts).
   */
  async storeBlueprintAsync(sb: DesiredSandbox): Promise<string> {
    const dir = this.layout.blueprintDir(sb.digest);
    const created = !existsSync(dir);
    mkdirSync(dir, { recursive: true, mode: 0o700 }); // sandbox.json holds the agent's env
    const stale = BLUEPRINT_FILES.filter((f) => {
      const path = join(dir, f);
      return !(existsSync(path) && readFileSync(path, 'utf8') === sb.files[f]);
    });
    if (stale.length)
      await writeFilesAtomicAsync(
        dir,
        stale.map((f) => [f, sb.files[f]]),
        { mode: 0o600 },
      );
    if (created) await fsyncDirAsync(dirname(dir)); // the new directory's own entry
    return dir;
  }

  /** Which stored files differ from the digests recorded for them (hand edits, deletions). */
  editedFiles(entry: Pick<InventoryEntry, 'blueprint_digest' | 'artifacts'>): BlueprintFile[] {
    const dir = this.layout.blueprintDir(entry.blueprint_digest);
    return BLUEPRINT_FILES.filter((f) => {
      try {
        return sha256(readFileSync(join(dir, f))) !== entry.artifacts[f];
      } catch {
        return true;
      }
    });
  }

  /**
   * loadBlueprint (null where it would throw) and editedFiles of one inventory entry, from one
   * read of each stored file: observing 50 sandboxes read and hashed every file twice.
   */
  inspectBlueprint(
    name: string,
    entry: Pick<InventoryEntry, 'blueprint_digest' | 'artifacts'>,
  ): { blueprint: CompiledSandbox | null; edited: BlueprintFile[] } {
    const dir = this.layout.blueprintDir(entry.blueprint_digest);
    const files = {} as Record<BlueprintFile, string>;
    const hashes = {} as Record<BlueprintFile, string | null>;
    for (const f of BLUEPRINT_FILES) {
      const b = readSmall(`${dir}/${f}`); // dir is absolute and normal: no join per file
      if (b) {
        files[f] = b.toString('utf8');
        hashes[f] = sha256(b);
      } else hashes[f] = null; // the view is used up here: the next read overwrites it
    }
    const edited = BLUEPRINT_FILES.filter((f) => hashes[f] !== entry.artifacts[f]);
    let blueprint: CompiledSandbox | null = null;
    try {
      if (BLUEPRINT_FILES.every((f) => hashes[f] !== null))
        blueprint = this.blueprintFrom(name, entry.blueprint_digest, dir, files, hashes);
    } catch {
      blueprint = null;
    }
    return { blueprint, edited };
  }

  /** Load a stored blueprint back into the compiled form (rollback). Verifies every digest. */
  loadBlueprint(name: string, digest: string): CompiledSandbox {
    const dir = this.layout.blueprintDir(digest);
    const files = {} as Record<BlueprintFile, string>;
    for (const f of BLUEPRINT_FILES) {
      try {
        files[f] = readFileSync(join(dir, f), 'utf8');
      } catch {
        throw new UserError(`blueprint ${digest} of ${name} is missing ${f} in ${dir}`, [], 1);
      }
    }
    return this.blueprintFrom(name, digest, dir, files);
  }

  private blueprintFrom(
    name: string,
    digest: string,
    dir: string,
    files: Record<BlueprintFile, string>,
    hashes?: Record<BlueprintFile, string | null>,
  ): CompiledSandbox {
    const manifest = JSON.parse(files['manifest.json']) as SandboxArtifacts['manifest'];
    if (manifest.digest !== digest) throw new UserError(`blueprint store ${dir} holds ${manifest.digest}, not ${digest}`, [], 1);
    for (const f of BLUEPRINT_FILES) {
      if (f === 'manifest.json') continue;
      if ((hashes?.[f] ?? sha256(files[f])) !== manifest.artifacts[f])
        throw new UserError(`${join(dir, f)} was modified (digest mismatch)`, [], 1);
    }
    const artifacts = {
      sandbox: JSON.parse(files['sandbox.json']),
      landlock: JSON.parse(files['landlock.json']),
      manifest,
    } as SandboxArtifacts;
    // The large ones are parsed when first read: observing 50 sandboxes parsed ~15,000 syscall
    // names that a plan with nothing to change never looks at. Their bytes were checked above.
    for (const [key, file] of [
      ['seccomp', 'seccomp.json'],
      ['egress', 'egress.json'],
    ] as const) {
      let value: unknown;
      Object.defineProperty(artifacts, key, {
        enumerable: true,
        configurable: true,
        get: () => (value ??= JSON.parse(files[file])),
        set: (v: unknown) => {
          value = v;
        },
      });
    }
    return { name, artifacts, files, digest };
  }

  /** Remove stored blueprints no generation and no inventory entry refers to. */
  pruneBlueprints(): void {
    const keep = new Set<string>();
    for (const e of Object.values(this.readInventory().sandboxes)) keep.add(e.blueprint_digest.replace(/^sha256:/, ''));
    for (const g of this.listGenerations()) for (const d of Object.values(g.sandboxes)) keep.add(d.replace(/^sha256:/, ''));
    const dir = join(this.root, 'blueprints');
    if (!existsSync(dir)) return;
    for (const d of readdirSync(dir)) if (/^[0-9a-f]{64}$/.test(d) && !keep.has(d)) rmSync(join(dir, d), { recursive: true, force: true });
  }

  listGenerations(): Generation[] {
    if (!existsSync(this.layout.generationsDir)) return [];
    return readdirSync(this.layout.generationsDir)
      .filter((f) => /^\d{6}\.json$/.test(f))
      .sort()
      .flatMap((f) => readJson(join(this.layout.generationsDir, f), 'generation', isGeneration) ?? []);
  }

  readGeneration(n: number): Generation {
    const g = readJson(this.layout.generationFile(n), 'generation', isGeneration);
    if (!g) throw new UserError(`no generation ${n} in ${this.layout.generationsDir}`, [], 1);
    return g;
  }

  /** The supervisor's desired.json (name → blueprint digest); empty when it does not exist yet. */
  readSupervisorDesired(): Record<string, string> {
    return readJson(this.layout.supervisorDesired, "the supervisor's", isDesiredMap) ?? {};
  }

  readSupervisorPids(): SupervisorPids {
    return readJson(this.layout.supervisorPids, "the supervisor's", isPids) ?? {};
  }

  recordGeneration(g: Omit<Generation, 'number' | 'format_version' | 'time' | 'user'>): Generation {
    const last = this.listGenerations().at(-1)?.number ?? 0;
    const gen: Generation = { format_version: 1, number: last + 1, time: new Date().toISOString(), user: osUser(), ...g };
    writeFileAtomic(this.layout.generationFile(gen.number), JSON.stringify(gen, null, 2) + '\n', { mode: 0o600 });
    return gen;
  }
}

let scratch: Buffer | undefined;

/**
 * A file's bytes, or null when it cannot be read. Blueprint files are a few KiB: one read (open,
 * read, close; no stat) into a shared buffer, returned as a view of it that the next call
 * overwrites: use it at once.
 */
function readSmall(path: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    scratch ??= Buffer.allocUnsafe(64 * 1024);
    const n = readSync(fd, scratch, 0, scratch.length, 0);
    return n < scratch.length ? scratch.subarray(0, n) : readFileSync(path); // larger: read whole
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
