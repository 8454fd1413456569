// Writes a compile's output to a directory: OUT/<sandbox>/*.json and OUT/index.json.
// Each file is written atomically and index.json last, so a reader that starts from the index
// always finds complete artifacts. Directories of sandboxes no longer in the config are removed.
// sandbox.json holds the agent's env, so everything is private to the owner: files 0600,
// directories 0700 (also when an older version left them wider).
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CompileOutput } from '../compiler/compile.js';
import { writeFileAtomic } from '../util/atomic-write.js';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

export function writeArtifacts(out: CompileOutput, dir: string): void {
  // The output directory itself may be the user's (`--out .`): created private, never chmod-ed.
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  for (const s of out.sandboxes) {
    privateDir(join(dir, s.name));
    for (const [file, body] of Object.entries(s.files)) writeIfChanged(join(dir, s.name, file), body);
  }
  writeIfChanged(join(dir, 'index.json'), out.indexFile);
  const keep = new Set(out.sandboxes.map((s) => s.name));
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && !keep.has(entry.name) && existsSync(join(dir, entry.name, 'manifest.json'))) {
      rmSync(join(dir, entry.name), { recursive: true, force: true });
    }
  }
}

function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: DIR_MODE });
  if ((statSync(path).mode & 0o777) !== DIR_MODE) chmodSync(path, DIR_MODE);
}

/** Unchanged files are left alone (but made private), so a re-compile touches only what changed. */
function writeIfChanged(path: string, body: string): void {
  try {
    if (readFileSync(path, 'utf8') === body) {
      if ((statSync(path).mode & 0o777) !== FILE_MODE) chmodSync(path, FILE_MODE);
      return;
    }
  } catch {
    // missing: write it
  }
  writeFileAtomic(path, body, { durable: false, mode: FILE_MODE });
}
