// Where a signed statement lives: a git note on the signed commit under refs/notes/nemoclaw, so a
// host that fetches the repository (and that ref) finds it without another service.
import { simpleGit } from 'simple-git';

export const NOTES_REF = 'refs/notes/nemoclaw';

/** Attach `text` to `commit`, replacing an earlier note. */
export async function writeNote(repo: string, commit: string, text: string): Promise<void> {
  // -m is cleaned up by git (trailing whitespace, blank lines); a one-line JSON bundle survives it.
  await simpleGit(repo).raw(['notes', `--ref=${NOTES_REF}`, 'add', '-f', '-m', text, commit]);
}

/** The note on `commit`, or undefined when there is none. */
export async function readNote(repo: string, commit: string): Promise<string | undefined> {
  const g = simpleGit(repo);
  const listed = (await g.raw(['notes', `--ref=${NOTES_REF}`, 'list', commit]).catch(() => '')).trim();
  if (!listed) return undefined;
  return g.raw(['notes', `--ref=${NOTES_REF}`, 'show', commit]);
}
