// Ownership of a sandbox's persistent data on the host. As root, every sandbox runs under its
// own host id range (src/state/uid-ranges.ts), so its read_write directories must be owned by
// the agent's id in that range; data written by an earlier version (host uid 1000) or copied in
// by hand is handed over once, on the first start that finds the top directory owned by anyone else.
import { lchownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * lchown of DIR and everything beneath it, never following a symlink (the tree is the agent's:
 * it may have planted links to host files). Hard links to host files cannot exist there: the
 * agent only ever sees its data through its own mounts, and links across mounts fail (EXDEV).
 */
function chownTree(dir: string, owner: Owner): void {
  lchownSync(dir, owner.uid, owner.gid);
  const st = lstatSync(dir);
  if (!st.isDirectory()) return;
  for (const name of readdirSync(dir)) chownTree(join(dir, name), owner);
}

/** Makes DIR (which exists) and its contents OWNER's, when its top is not OWNER's already. */
export function handOver(dir: string, owner: Owner): void {
  const st = lstatSync(dir);
  if (st.uid === owner.uid && st.gid === owner.gid) return;
  chownTree(dir, owner);
}
