#!/usr/bin/env node
// The CLI entry (CommonJS, see bin/package.json): runs dist/bundle/<command>.cjs, the bundle of the
// command named in argv (scripts/bundle.mjs), else all.cjs (--help, unknown words), through
// vm.Script with V8's code cache, so that a command's code is compiled once per Node version
// rather than on every start (issue 15: lint of the quickstart 1.59× → 1.47× `node -e 0`).
//
// The cache is compiled code that this process will run, so it is trusted only as much as the
// files nemoclaw runs from: it lives in the caller's own cache directory, a file is used only
// when the caller's uid owns it and nobody else can write it, and it is opened without following
// links. V8 rejects data made from another source, Node version or set of flags; rejected or
// missing data is rebuilt when the command exits. NEMOCLAW_CODE_CACHE=off turns it off.
'use strict';
const { closeSync, existsSync, fstatSync, mkdirSync, openSync, constants, readFileSync, renameSync, writeSync } = require('node:fs');
const { createHash } = require('node:crypto');
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

function cacheFile(file, name) {
  if (process.env.NEMOCLAW_CODE_CACHE === 'off') return undefined;
  const { NEMOCLAW_CACHE_DIR, XDG_CACHE_HOME, HOME } = process.env;
  const userCache = XDG_CACHE_HOME || (HOME && join(HOME, '.cache'));
  const base = NEMOCLAW_CACHE_DIR || (userCache && join(userCache, 'nemoclaw'));
  if (!base) return undefined;
  const key = createHash('sha256')
    .update([file, process.version, process.arch, process.execArgv.join(' '), process.env.NODE_OPTIONS ?? ''].join('\0'))
    .digest('hex')
    .slice(0, 16);
  return join(base, 'v8', `${name}-${key}.bin`);
}

/** The cached data, if this uid wrote it and only this uid can change it. */
function readCache(path) {
  let fd;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid() || (st.mode & 0o022) !== 0) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeCache(path, data) {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
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
  const cachePath = cacheFile(file, name);
  const cachedData = cachePath && readCache(cachePath);
  const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  if (cachePath && (!cachedData || script.cachedDataRejected)) process.once('exit', () => writeCache(cachePath, script.createCachedData()));
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
