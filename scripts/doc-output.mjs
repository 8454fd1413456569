// Shared by the doc generators: write the generated page, or with --check fail when the committed
// one differs (so CI catches a stale doc without rewriting it).
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, relative } from 'node:path';

export function writeOrCheck(root, out, doc, script) {
  if (!process.argv.includes('--check')) {
    writeFileSync(out, doc);
    return;
  }
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {
    /* missing: stale */
  }
  if (current !== doc) {
    console.error(`${relative(root, out)} is out of date: run node scripts/${basename(script)}`);
    process.exit(1);
  }
}
