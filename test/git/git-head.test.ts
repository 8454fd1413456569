// The .git reader (src/util/git-head.ts) against real git: in every layout it reads itself it must
// give the commit `git rev-parse HEAD` gives, and it must hand the layouts it does not know to git.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { headCommit, readHead } from '../../src/util/git-head.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'nemoclaw-git-head-')));
after(() => rmSync(root, { recursive: true, force: true }));
const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' }).trim();
const revParse = (dir: string) => git(dir, 'rev-parse', 'HEAD');

function repo(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  return dir;
}
function commit(dir: string, msg: string): void {
  writeFileSync(join(dir, 'f'), msg);
  git(dir, 'add', 'f');
  git(dir, 'commit', '-q', '-m', msg);
}

test('outside any repository: null, without asking git', () => {
  const dir = join(root, 'plain');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  // tmpdir is not inside a repository on the machines the tests run on; check rather than assume.
  if (readHead(dir) !== null) return assert.fail(`expected no repository above ${dir}`);
  assert.equal(readHead(join(dir, 'sub')), null);
});

test('an unborn branch: null', async () => {
  const dir = repo('unborn');
  assert.equal(readHead(dir), null);
  assert.equal(await headCommit(dir), null);
});

test('a loose ref, from the top and from a subdirectory', () => {
  const dir = repo('loose');
  commit(dir, 'one');
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  assert.equal(readHead(dir), revParse(dir));
  assert.equal(readHead(join(dir, 'a', 'b')), revParse(dir));
  commit(dir, 'two');
  assert.equal(readHead(dir), revParse(dir), 'follows a new commit');
});

test('a packed ref', () => {
  const dir = repo('packed');
  commit(dir, 'one');
  git(dir, 'pack-refs', '--all');
  assert.equal(readHead(dir), revParse(dir));
});

test('a detached HEAD', () => {
  const dir = repo('detached');
  commit(dir, 'one');
  const first = revParse(dir);
  commit(dir, 'two');
  git(dir, 'checkout', '-q', '--detach', first);
  assert.equal(readHead(dir), first);
});

test('a linked worktree (a .git file and a common directory)', () => {
  const dir = repo('main-wt');
  commit(dir, 'one');
  const wt = join(root, 'linked');
  git(dir, 'worktree', 'add', '-q', '-b', 'other', wt);
  commit(wt, 'two');
  assert.notEqual(revParse(wt), revParse(dir));
  assert.equal(readHead(wt), revParse(wt));
  assert.equal(readHead(dir), revParse(dir));
});

test('a HEAD it cannot read: git answers', async () => {
  const dir = repo('symref');
  commit(dir, 'one');
  // A symbolic ref to a symbolic ref: git follows the chain, the reader hands it over.
  git(dir, 'symbolic-ref', 'refs/heads/alias', 'refs/heads/main');
  git(dir, 'symbolic-ref', 'HEAD', 'refs/heads/alias');
  assert.equal(readHead(dir), 'ask-git');
  assert.equal(await headCommit(dir), revParse(dir));
});
