// Writes a compile's output to a directory: OUT/<sandbox>/*.json and OUT/index.json.
// Each file is written atomically and index.json last, so a reader that starts from the index
// always finds complete artifacts. Directories of sandboxes no longer in the config are removed.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CompileOutput } from '../compiler/compile.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export function writeArtifacts(out: CompileOutput, dir: string): void {
  for (const s of out.sandboxes) {
    for (const [file, body] of Object.entries(s.files)) writeFileAtomic(join(dir, s.name, file), body);
  }
  writeFileAtomic(join(dir, 'index.json'), out.indexFile);
  const keep = new Set(out.sandboxes.map((s) => s.name));
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && !keep.has(entry.name) && existsSync(join(dir, entry.name, 'manifest.json'))) {
      rmSync(join(dir, entry.name), { recursive: true, force: true });
    }
  }
}
