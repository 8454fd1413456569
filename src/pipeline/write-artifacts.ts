// Writes a compile's output to a directory: OUT/<sandbox>/*.json and OUT/index.json.
// Each file is written atomically and index.json last, so a reader that starts from the index
// always finds complete artifacts. Directories of sandboxes no longer in the config are removed.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CompileOutput } from '../compiler/compile.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export function writeArtifacts(out: CompileOutput, dir: string): void {
  for (const s of out.sandboxes) {
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

/** Unchanged files are left alone, so a re-compile touches only what changed. */
function writeIfChanged(path: string, body: string): void {
  try {
    if (readFileSync(path, 'utf8') === body) return;
  } catch {
    // missing: write it
  }
  writeFileAtomic(path, body, { durable: false });
}
