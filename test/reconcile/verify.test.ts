// The loop's git side against real repositories: fetch into the mirror, the signature checks
// (SSH allowed signers, a GPG keyring in a private GNUPGHOME), ancestry for anti-rollback, and
// the backoff after failures.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { nextDelay } from '../../src/reconciler/loop.js';
import { checkoutVerified, descendsFrom, fetchSource } from '../../src/reconciler/source.js';
import { commitChecks, verifyCommit } from '../../src/reconciler/verify-commit.js';
import { cachedVerification, rememberVerification, verificationKey } from '../../src/reconciler/verify-cache.js';
import { redactUrl, sourcePaths, type GitSource } from '../../src/state/source.js';
import { requireCapability } from '../helpers/capability.js';
import { tempDir } from '../helpers/tmp.js';
import { makeRepo } from './repo.js';

const base: GitSource = {
  kind: 'git',
  url: '',
  ref: 'main',
  path: 'nemoclaw.yaml',
  allowed_signers: null,
  gpg_keyring: null,
  verify: true,
  notify: null,
  settle_ms: 0,
};

const YAML = 'version: 1\nsandboxes:\n  a:\n    command: [/bin/true]\n';

test('SSH: trusted, unsigned and stranger commits; ancestry; no anchor fails closed', async (t) => {
  const dir = tempDir(t);
  const repo = makeRepo(dir);
  const root = join(dir, 'state');
  const source = { ...base, url: repo.remote, allowed_signers: repo.allowedSigners };
  const check = async () => {
    const { commit } = await fetchSource(root, repo.remote, 'main');
    return { commit, r: await verifyCommit({ root, mirror: sourcePaths(root).mirror, commit, source }, commitChecks(source)) };
  };

  const c1 = await repo.commit(YAML, { sign: 'trusted' });
  const v1 = await check();
  assert.equal(v1.commit, c1);
  assert.ok(v1.r.ok && /^trusted@test SHA256:/.test(v1.r.by), JSON.stringify(v1.r));

  await repo.commit(YAML, { sign: null });
  const v2 = await check();
  assert.deepEqual(v2.r, { ok: false, why: 'the commit is not signed' });

  const c3 = await repo.commit(YAML, { sign: 'stranger' });
  const v3 = await check();
  assert.ok(!v3.r.ok && /not among the allowed signers/.test(v3.r.why));

  assert.equal(await descendsFrom(root, c1, c3), true);
  assert.equal(await descendsFrom(root, c3, c1), false);
  assert.equal(await descendsFrom(root, '0'.repeat(40), c3), false, 'an unknown commit is not an ancestor');

  // Verification required with no anchor: nothing passes. --no-verify: explicitly unverified.
  const none = await verifyCommit(
    { root, mirror: sourcePaths(root).mirror, commit: c1, source: { ...source, allowed_signers: null } },
    commitChecks({ ...source, allowed_signers: null }),
  );
  assert.equal(none.ok, false);
  assert.deepEqual(
    await verifyCommit({ root, mirror: sourcePaths(root).mirror, commit: c3, source }, commitChecks({ ...source, verify: false })),
    {
      ok: true,
      by: 'unverified',
    },
  );

  await assert.rejects(fetchSource(root, join(dir, 'missing.git'), 'main'), /does not appear to be a git repository|not.*repository/);
});

test('a tick downloads nothing when the remote has not moved; a remembered pass is keyed by commit and anchors', async (t) => {
  const dir = tempDir(t);
  const repo = makeRepo(dir);
  const root = join(dir, 'state');
  const c1 = await repo.commit(YAML, { sign: 'trusted' });
  assert.deepEqual(await fetchSource(root, repo.remote, 'main'), { commit: c1, notes: null, downloaded: true });
  assert.deepEqual(await fetchSource(root, repo.remote, 'main'), { commit: c1, notes: null, downloaded: false });
  // A note (a signed statement) moves too: fetched even though the branch did not move.
  repo.git('notes', '--ref=nemoclaw', 'add', '-m', 'statement', c1);
  repo.git('push', '--quiet', repo.remote, 'refs/notes/nemoclaw');
  const n = await fetchSource(root, repo.remote, 'main');
  assert.equal(n.downloaded, true);
  assert.equal(n.notes, repo.git('rev-parse', 'refs/notes/nemoclaw'));
  assert.equal((await fetchSource(root, repo.remote, 'main')).downloaded, false);
  const c2 = await repo.commit(YAML + '# two\n', { sign: 'trusted' });
  assert.deepEqual(await fetchSource(root, repo.remote, 'main'), { commit: c2, notes: n.notes, downloaded: true });
  // Full ref names resolve as fetch would; a force-push back is seen as a move.
  assert.equal((await fetchSource(root, repo.remote, 'refs/heads/main')).commit, c2);
  repo.forcePush(c1);
  assert.deepEqual(await fetchSource(root, repo.remote, 'main'), { commit: c1, notes: n.notes, downloaded: true });

  // The checked-out tree is exactly the commit on every tick: a hand edit or a stray file is undone.
  const tree = await checkoutVerified(root, c1);
  assert.equal(readFileSync(join(tree, 'nemoclaw.yaml'), 'utf8'), YAML);
  assert.equal(await checkoutVerified(root, c1), tree);
  writeFileSync(join(tree, 'nemoclaw.yaml'), YAML + '# hand edit\n');
  writeFileSync(join(tree, 'stray.yaml'), 'x');
  await checkoutVerified(root, c1);
  assert.equal(readFileSync(join(tree, 'nemoclaw.yaml'), 'utf8'), YAML);
  assert.equal(existsSync(join(tree, 'stray.yaml')), false);
  await checkoutVerified(root, c2);
  assert.equal(readFileSync(join(tree, 'nemoclaw.yaml'), 'utf8'), YAML + '# two\n');

  const source = { ...base, url: repo.remote, allowed_signers: repo.allowedSigners };
  const file = sourcePaths(root).verifiedFile;
  const key = verificationKey(source, c1, null);
  assert.equal(cachedVerification(file, key), null);
  rememberVerification(file, key, 'trusted@test');
  assert.equal(cachedVerification(file, key), 'trusted@test');
  assert.equal(cachedVerification(file, verificationKey(source, c2, null)), null, 'another commit');
  assert.equal(cachedVerification(file, verificationKey(source, c1, n.notes)), null, 'another statement');
  writeFileSync(repo.allowedSigners, '');
  assert.equal(cachedVerification(file, verificationKey(source, c1, null)), null, 'the anchor changed: verify again');
});

test('GPG: a commit signed by a key in --gpg-keyring passes; another key does not', async (t) => {
  const gpg = spawnSync('gpg', ['--version']);
  if (!requireCapability(t, gpg.status === 0, 'gpg not installed')) return;
  const dir = tempDir(t);
  const repo = makeRepo(dir);
  const root = join(dir, 'state');
  const homes = { trusted: join(dir, 'gpg-trusted'), other: join(dir, 'gpg-other') };
  const fpr: Record<string, string> = {};
  for (const [name, home] of Object.entries(homes)) {
    mkdirSync(home, { mode: 0o700 });
    execFileSync('gpg', [
      '--homedir',
      home,
      '--batch',
      '--passphrase',
      '',
      '--quick-gen-key',
      `${name} <${name}@test>`,
      'ed25519',
      'sign',
      '1d',
    ]);
    fpr[name] = /^fpr:+([0-9A-F]{40}):/m.exec(
      execFileSync('gpg', ['--homedir', home, '--with-colons', '--list-secret-keys'], { encoding: 'utf8' }),
    )![1]!;
  }
  const keyring = join(dir, 'keyring.asc');
  writeFileSync(keyring, execFileSync('gpg', ['--homedir', homes.trusted, '--armor', '--export', fpr.trusted!]));
  const source = { ...base, url: repo.remote, gpg_keyring: keyring };

  const signWith = (who: 'trusted' | 'other') => {
    writeFileSync(join(repo.work, 'note.txt'), `${who}\n`);
    repo.git('add', 'note.txt');
    execFileSync('git', ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${fpr[who]}`, 'commit', '--quiet', '-S', '-m', who], {
      cwd: repo.work,
      env: {
        ...process.env,
        GNUPGHOME: homes[who],
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@x',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@x',
      },
    });
    repo.git('push', '--quiet', '--force', repo.remote, 'HEAD:main');
  };
  const check = async () => {
    const { commit } = await fetchSource(root, repo.remote, 'main');
    return verifyCommit({ root, mirror: sourcePaths(root).mirror, commit, source }, commitChecks(source));
  };

  signWith('trusted');
  const ok = await check();
  assert.ok(ok.ok && ok.by.includes(fpr.trusted!), JSON.stringify(ok));
  signWith('other');
  const bad = await check();
  assert.equal(bad.ok, false, JSON.stringify(bad));
});

test('backoff after failed ticks doubles from 10 s and never exceeds the interval', () => {
  const five = 5 * 60_000;
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 40].map((n) => nextDelay(five, n)),
    [five, 10_000, 20_000, 40_000, 80_000, 160_000, five, five],
  );
});

test('credentials in a source URL never reach a log line or status', () => {
  assert.equal(redactUrl('https://bot:s3cr3t-token@git.example.org/ops/agents.git'), 'https://***@git.example.org/ops/agents.git');
  assert.equal(redactUrl('/srv/git/agents.git'), '/srv/git/agents.git');
  assert.equal(
    redactUrl("fatal: unable to access 'https://bot:s3cr3t@host/x/': 403"),
    "fatal: unable to access 'https://***@host/x/': 403",
  );
});
