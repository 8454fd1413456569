// nemoclaw reconcile: follow a git repository (fetch, verify, refuse rewinds, apply, heal), once
// for a timer or in a loop; `reconcile suspend|resume` pause and restart applying.
import type { CAC } from 'cac';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../../util/errors.js';
import { checkRepoPath, runLoop, tick } from '../../reconciler/loop.js';
import {
  INITIAL_STATUS,
  readReconcileStatus,
  readSource,
  writeReconcileStatus,
  writeSource,
  type GitSource,
  type Source,
} from '../../state/source.js';
import { parseDuration } from '../../util/duration.js';
import { parseIdentitySpec } from '../../signing/identity-spec.js';
import { command } from '../run-command.js';
import { claimSource, openStore, progress, settleOption } from '../reconcile-ui.js';

interface Opts {
  source?: string;
  ref?: string;
  path?: string;
  allowedSigners?: string;
  gpgKeyring?: string;
  requireSignature?: string;
  trustedRoot?: string;
  verify: boolean;
  once?: boolean;
  interval?: string;
  stateDir?: string;
  allowRewind?: boolean;
  notify?: string;
  settle?: string;
  adopt?: boolean;
  reason?: string;
  retention?: string;
}

/** --retention 30d | off: how long a deleted sandbox's kept data stays (null: until destroy --purge). */
function retentionOption(v: string): number | null {
  if (v.trim() === 'off') return null;
  const ms = parseDuration(v);
  if (ms === undefined) throw new UserError(`--retention: "${v}" is not a duration (e.g. 30d) or off`, [], 2);
  return ms;
}

const anchorFile = (flag: string, f: string | undefined): string | null => {
  if (f === undefined) return null;
  const p = resolve(f);
  if (!existsSync(p)) throw new UserError(`${flag} ${f}: no such file`, [], 2);
  return p;
};

/** --require-signature key:FILE | identity:ID@ISSUER (with --trusted-root FILE), anchors made absolute. */
function requireSignatureFor(o: Opts): GitSource['require_signature'] | undefined {
  if (o.requireSignature === undefined) return undefined;
  const spec = o.requireSignature;
  if (spec.startsWith('key:')) return { spec: `key:${anchorFile('--require-signature key:', spec.slice(4))}`, trusted_root: null };
  if (spec.startsWith('identity:') && parseIdentitySpec(spec.slice('identity:'.length))) {
    const root = anchorFile('--trusted-root', o.trustedRoot);
    if (!root) throw new UserError('--require-signature identity:… needs --trusted-root FILE (a Sigstore trusted_root.json)', [], 2);
    return { spec, trusted_root: root };
  }
  throw new UserError(`--require-signature ${spec}: expected key:FILE or identity:ID@ISSUER`, [], 2);
}

/** A local repository is remembered by its absolute path, so a timer finds it from any directory. */
const sourceUrl = (s: string): string => (existsSync(s) ? resolve(s) : s);

/** The source this run follows: the flags merged over what the state directory remembers. */
function sourceFor(root: string, o: Opts): GitSource {
  const noVerify = o.verify === false;
  const have: Source | null = readSource(root);
  const prev = have?.kind === 'git' ? have : null;
  if (!o.source && !prev)
    throw new UserError(
      have
        ? `the state directory ${root} follows the file ${have.path}; give --source URL (and --adopt) to follow a repository instead`
        : 'no source yet: give --source <git URL or path> (it is remembered for later runs)',
      [],
      2,
    );
  const fresh = o.source !== undefined;
  const signers = anchorFile('--allowed-signers', o.allowedSigners);
  const keyring = anchorFile('--gpg-keyring', o.gpgKeyring);
  const notify = o.notify ?? (fresh ? null : (prev?.notify ?? null));
  const requireSignature = requireSignatureFor(o) ?? (fresh ? null : (prev?.require_signature ?? null));
  if (notify !== null) {
    let u: URL;
    try {
      u = new URL(notify);
    } catch {
      throw new UserError(`--notify ${notify}: not a URL`, [], 2);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UserError('--notify takes an http:// or https:// URL', [], 2);
  }
  const s: GitSource = {
    kind: 'git',
    url: fresh ? sourceUrl(o.source!) : prev!.url,
    ref: o.ref ?? (fresh ? 'main' : prev!.ref),
    path: checkRepoPath(o.path ?? (fresh ? 'nemoclaw.yaml' : prev!.path)),
    allowed_signers: signers ?? (fresh ? null : (prev?.allowed_signers ?? null)),
    gpg_keyring: keyring ?? (fresh ? null : (prev?.gpg_keyring ?? null)),
    // Giving a trust anchor turns verification (back) on; only --no-verify turns it off.
    verify: noVerify ? false : fresh || signers || keyring ? true : (prev?.verify ?? true),
    require_signature: requireSignature,
    notify,
    settle_ms:
      o.settle !== undefined ? settleOption(o.settle) : fresh ? settleOption(undefined) : (prev?.settle_ms ?? settleOption(undefined)),
    retention_ms: o.retention !== undefined ? retentionOption(String(o.retention)) : (prev?.retention_ms ?? null),
  };
  if (s.verify && !s.allowed_signers && !s.gpg_keyring)
    throw new UserError(
      'every commit must be verified: give --allowed-signers FILE (SSH, git allowed-signers format) or --gpg-keyring FILE; ' +
        '--no-verify follows the repository without verification (reported as unverified everywhere)',
      [],
      2,
    );
  claimSource(root, s, o.adopt === true);
  writeSource(root, s);
  return s;
}

export function register(cli: CAC): void {
  cli
    .command('reconcile [action]', 'Follow a git repository: fetch, verify, apply, heal drift (suspend | resume to pause)')
    .option('--source <url>', 'Git URL or path of the repository to follow (remembered in the state directory)')
    .option('--ref <ref>', 'Branch or tag to follow (default main)')
    .option('--path <file>', 'Config file inside the repository (default nemoclaw.yaml)')
    .option('--allowed-signers <file>', "SSH allowed-signers file (git's format): commits must be signed by one of these keys")
    .option('--gpg-keyring <file>', 'GPG public keyring: commits must be signed by one of these keys')
    .option('--no-verify', 'Follow without verifying signatures (reported as unverified)')
    .option(
      '--require-signature <spec>',
      'key:FILE or identity:ID@ISSUER: the head must carry a signed statement of its blueprint digests (nemoclaw sign)',
    )
    .option('--trusted-root <file>', 'Sigstore trusted_root.json for --require-signature identity:…')
    .option('--once', 'One tick, then exit: 0 converged, 1 failed, 2 usage error')
    .option('--interval <duration>', 'Tick every DURATION (e.g. 5m) until stopped')
    .option('--allow-rewind', 'With --once: accept a head that does not descend from the applied commit')
    .option('--notify <url>', 'POST a JSON event on failure, drift healed and recovery')
    .option('--settle <duration>', 'How long a started sandbox must stay up (default 3s)')
    .option('--retention <duration>', "Remove a deleted sandbox's kept data after DURATION (e.g. 30d); off (default) keeps it")
    .option('--adopt', 'Take over a state directory that follows another source')
    .option('--reason <text>', 'suspend: why (shown by status)')
    .option('--state-dir <dir>', 'State directory')
    .action(
      command(async (action: string | undefined, opts: Opts) => {
        const store = openStore(opts.stateDir);
        if (action === 'suspend' || action === 'resume') {
          if (!readSource(store.root)) throw new UserError(`${store.root} follows no repository yet`, [], 2);
          const cur = readReconcileStatus(store.root) ?? structuredClone(INITIAL_STATUS);
          const suspended = action === 'suspend' ? { reason: opts.reason ?? null, since: new Date().toISOString() } : null;
          writeReconcileStatus(store.root, { ...cur, suspended });
          process.stdout.write(
            action === 'suspend'
              ? 'suspended: ticks fetch and report, and apply nothing until `nemoclaw reconcile resume`\n'
              : 'resumed: the next tick applies\n',
          );
          return 0;
        }
        if (action !== undefined) throw new UserError(`reconcile: unknown action "${action}" (suspend, resume)`, [], 2);
        if (opts.once && opts.interval) throw new UserError('give --once or --interval, not both', [], 2);
        if (opts.allowRewind && !opts.once) throw new UserError('--allow-rewind is for one tick by hand: add --once', [], 2);
        const intervalMs = opts.interval !== undefined ? parseDuration(opts.interval) : undefined;
        if (opts.interval !== undefined && intervalMs === undefined)
          throw new UserError(`--interval: "${opts.interval}" is not a duration (e.g. 5m)`, [], 2);
        store.ensureRoot();
        const source = sourceFor(store.root, opts);
        const log = (line: string) => process.stdout.write(line + '\n');
        const base = { settleMs: source.settle_ms, log, progress };
        if (intervalMs === undefined) {
          const r = await tick(store, source, { ...base, allowRewind: opts.allowRewind === true });
          return r.ok ? 0 : 1;
        }
        const ac = new AbortController();
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ac.abort());
        await runLoop(
          store,
          () => {
            const s = readSource(store.root);
            return s?.kind === 'git' ? s : source;
          },
          intervalMs,
          { ...base, allowRewind: false, signal: ac.signal },
        );
        return 0;
      }),
    );
}
