#!/usr/bin/env node
// The CLI entry (CommonJS, see bin/package.json): runs dist/bundle/<command>.cjs, the bundle of the
// command named in argv (scripts/bundle.mjs), else all.cjs (--help, unknown words), through
// vm.Script with V8's code cache, so that a command's code is compiled once per Node version
// rather than on every start (issue 15: lint of the quickstart 1.59× → 1.47× `node -e 0`).
//
// The cache is compiled code that this process will run, so it is trusted only as much as the
// files nemoclaw runs from: it lives in the caller's own cache directory, a file is used only
// when the caller's uid owns it and nobody else can write it, and it is opened without following
// links. Data made from another build of the bundle, Node version or set of flags is not used;
// it is rebuilt when the command exits. NEMOCLAW_CODE_CACHE=off turns it off.
'use strict';
const { closeSync, existsSync, fstatSync, mkdirSync, openSync, constants, readFileSync, renameSync, writeSync } = require('node:fs');
const { dirname, join } = require('node:path');
const Module = require('node:module');
const vm = require('node:vm');

const bundles = join(__dirname, '..', 'dist', 'bundle');
const word = process.argv[2] ?? '';
const name =
  process.argv.length === 3 && (word === '--version' || word === '-v')
    ? 'version'
    : /^[a-z]+$/.test(word) && existsSync(join(bundles, `${word}.cjs`))
      ? word
      : 'all';
const file = join(bundles, `${name}.cjs`);

/** 32-bit FNV-1a of S's UTF-16 code units from SEED, as 8 hex digits. */
function fnv1a(s, seed) {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Where this command's code cache lives: one file per (bundle path, Node version, arch, flags),
 * so rebuilds replace it rather than pile up. The key names a file in the caller's own directory,
 * so it needs no cryptographic hash (node:crypto alone costs ~10 ms to load).
 */
function cacheFile(file, name) {
  if (process.env.NEMOCLAW_CODE_CACHE === 'off') return undefined;
  const { NEMOCLAW_CACHE_DIR, XDG_CACHE_HOME, HOME } = process.env;
  const userCache = XDG_CACHE_HOME || (HOME && join(HOME, '.cache'));
  const base = NEMOCLAW_CACHE_DIR || (userCache && join(userCache, 'nemoclaw'));
  if (!base) return undefined;
  const id = [file, process.version, process.arch, process.execArgv.join(' '), process.env.NODE_OPTIONS ?? ''];
  const key = fnv1a(id.join('\0'), 0x811c9dc5) + fnv1a(id.join('\u0001'), 0x01000193);
  return join(base, 'v8', `${name}-${key}.bin`);
}

/**
 * The first line of a cache file: which bundle it was made from, down to its inode and change
 * time. V8 checks only the source's length before trusting the data, so a rebuilt bundle of the
 * same length must not match.
 */
function bundleIdentity(st) {
  return `${st.dev} ${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs}\n`;
}

/** The cached data for IDENTITY, if this uid wrote it and only this uid can change it. */
function readCache(path, identity) {
  let fd;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid() || (st.mode & 0o022) !== 0) return undefined;
    const data = readFileSync(fd);
    const head = Buffer.from(identity, 'latin1');
    return data.subarray(0, head.length).equals(head) ? data.subarray(head.length) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeCache(path, identity, data) {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, identity, null, 'latin1');
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch {
    // A cache that cannot be written only costs the next start its compile time.
  }
}

/** Run a bundle (CommonJS) through the code cache; its module. */
function load(file, name) {
  // latin1 is a plain copy, and exact: scripts/bundle.mjs checks that every bundle is ASCII.
  const fd = openSync(file, constants.O_RDONLY);
  const source = readFileSync(fd, 'latin1');
  const identity = bundleIdentity(fstatSync(fd, { bigint: true }));
  closeSync(fd);
  const cachePath = cacheFile(file, name);
  const cachedData = cachePath && readCache(cachePath, identity);
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  if (cachePath && (!cachedData || script.cachedDataRejected))
    process.once('exit', () => writeCache(cachePath, identity, script.createCachedData()));
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(dirname(file));
  script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, dirname(file));
  bundle.loaded = true;
  return bundle;
}

// The parts a command loads only when it needs them (dist/bundle/lib/<name>.cjs, see
// scripts/bundle.mjs: the compile pipeline, for `plan` whose compile was remembered), through the
// code cache too, each with a cache of its own.
const libs = new Map();
globalThis.__nemoclawRequireLib = (lib) => {
  if (!/^[a-z-]+$/.test(lib)) throw new Error(`nemoclaw: no such part: ${lib}`);
  if (!libs.has(lib)) libs.set(lib, load(join(bundles, 'lib', `${lib}.cjs`), `lib-${lib}`).exports);
  return libs.get(lib);
};

load(file, name);
