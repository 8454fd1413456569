// How a path is shown in messages and manifests.
import { isAbsolute, relative } from 'node:path';

/** Paths in messages are relative to the working directory when that is shorter. */
export function displayPath(path: string): string {
  if (!isAbsolute(path)) return path; // already a display name, e.g. `<commit>:nemoclaw.lock`
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && rel.length < path.length ? rel : path;
}
