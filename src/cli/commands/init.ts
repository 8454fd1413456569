// nemoclaw init: a guided setup that writes a commented nemoclaw.yaml and its lock for one
// OpenClaw agent, validates them and shows what the agent may do. Every question has a flag;
// --yes takes the defaults for the questions no flag answered (no prompt at all).
import type { CAC } from 'cac';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline/promises';
import { loadCatalog } from '../../catalog/catalog.js';
import {
  checkName,
  checkOnDeny,
  checkRuntime,
  KNOWN_PROVIDERS,
  parsePresets,
  renderConfig,
  resolveProvider,
  type InitAnswers,
} from '../../config/init-template.js';
import { explainText } from '../../compiler/explain.js';
import { displayPath, loadCompile } from '../../pipeline/pipeline.js';
import { serializeLock } from '../../lock/lock.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { UserError } from '../../util/errors.js';
import { command } from '../run-command.js';
import { formatDiagnosticsText } from '../views/lint.js';
import { bold, dim, green, styleFor } from '../views/style.js';

interface InitOptions {
  yes?: boolean;
  name?: string;
  runtime?: string;
  provider?: string;
  credential?: string;
  model?: string;
  presets?: string;
  onDeny?: string;
  image?: string;
  dir: string;
  force?: boolean;
}

const DEFAULTS = { name: 'assistant', runtime: 'process', provider: 'nvidia', presets: 'github', onDeny: 'ask' } as const;

/** Ask until the answer passes `check` (which throws UserError with the reason), or use the default on Enter. */
async function ask<T>(rl: Interface, question: string, fallback: string, check: (answer: string) => T): Promise<T> {
  for (;;) {
    const answer = (await rl.question(`${question} ${dim(`[${fallback}]`, process.stdout)} `)).trim() || fallback;
    try {
      return check(answer);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      process.stdout.write(`  ${e.message}\n`);
    }
  }
}

async function gather(opts: InitOptions, presetNames: string[]): Promise<InitAnswers> {
  const given = <T>(v: string | undefined, check: (s: string) => T): T | undefined => (v === undefined ? undefined : check(String(v)));
  const name = given(opts.name, checkName);
  const runtime = given(opts.runtime, checkRuntime);
  const onDeny = given(opts.onDeny, checkOnDeny);
  const presets = given(opts.presets, (s) => parsePresets(s, presetNames));
  const providerFlag = opts.provider === undefined ? undefined : String(opts.provider);
  if (opts.yes) {
    return {
      name: name ?? DEFAULTS.name,
      runtime: runtime ?? DEFAULTS.runtime,
      provider: resolveProvider(providerFlag ?? DEFAULTS.provider, opts.credential, opts.model),
      presets: presets ?? parsePresets(DEFAULTS.presets, presetNames),
      onDeny: onDeny ?? DEFAULTS.onDeny,
      image: opts.image,
    };
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  rl.on('SIGINT', () => {
    rl.close();
    process.stdout.write('\n');
    process.exit(130);
  });
  try {
    const out = process.stdout;
    out.write(bold('nemoclaw init: one OpenClaw agent in a sandbox', out) + ' (Enter takes the default)\n');
    const a: InitAnswers = {
      name: name ?? (await ask(rl, 'Agent (sandbox) name?', DEFAULTS.name, checkName)),
      runtime: runtime ?? (await ask(rl, 'Runtime, process (embedded, needs only the kernel) or docker?', DEFAULTS.runtime, checkRuntime)),
      provider: resolveProvider(DEFAULTS.provider),
      presets: [],
      onDeny: 'ask',
    };
    let provider = providerFlag;
    if (provider === undefined) {
      provider = await ask(
        rl,
        `Model provider, ${Object.keys(KNOWN_PROVIDERS).join(' | ')} | URL of a local OpenAI-compatible server?`,
        DEFAULTS.provider,
        (s) => {
          resolveProvider(s);
          return s;
        },
      );
    }
    const base = resolveProvider(provider, undefined, opts.model);
    let credential = opts.credential;
    if (credential === undefined) {
      const fallback = base.credential ?? 'none';
      const answer = await ask(rl, 'Where does its API key live, env:NAME or file:/path (never the key itself)?', fallback, (s) =>
        s === 'none' ? s : resolveProvider(provider, s) && s,
      );
      credential = answer === 'none' ? undefined : answer;
    }
    a.provider = resolveProvider(provider, credential, opts.model);
    a.presets =
      presets ??
      (await ask(
        rl,
        `Hosts the agent may reach, presets from: ${presetNames.join(', ')} (comma-separated, - for none)?`,
        DEFAULTS.presets,
        (s) => (s === '-' ? [] : parsePresets(s, presetNames)),
      ));
    a.onDeny = onDeny ?? (await ask(rl, 'A request to any other host: ask (queue it for approval) or deny?', DEFAULTS.onDeny, checkOnDeny));
    a.image = opts.image;
    return a;
  } finally {
    rl.close();
  }
}

export function register(cli: CAC): void {
  cli
    .command('init', 'Write a commented nemoclaw.yaml and lock for one OpenClaw agent (asks, or takes flags with --yes)')
    .option('-y, --yes', 'Ask nothing: flags, else defaults')
    .option('--name <name>', `Agent (sandbox) name (default ${DEFAULTS.name})`)
    .option('--runtime <runtime>', `process | docker (default ${DEFAULTS.runtime})`)
    .option(
      '--provider <provider>',
      `${Object.keys(KNOWN_PROVIDERS).join(' | ')} | URL of an OpenAI-compatible server (default ${DEFAULTS.provider})`,
    )
    .option('--credential <where>', "Where the provider's key lives: env:NAME or file:/path (never the key)")
    .option('--model <model>', "Model id (default: the provider's)")
    .option('--presets <list>', `Comma-separated egress presets (default ${DEFAULTS.presets})`)
    .option('--on-deny <mode>', `ask | deny (default ${DEFAULTS.onDeny})`)
    .option('--image <ref>', 'Docker image (runtime docker)')
    .option('--dir <dir>', 'Directory to write nemoclaw.yaml and nemoclaw.lock in', { default: '.' })
    .option('--force', 'Overwrite an existing nemoclaw.yaml')
    .action(
      command(async (opts: InitOptions) => {
        const file = join(resolve(String(opts.dir)), 'nemoclaw.yaml');
        // Refuse before asking anything: answers typed for nothing are worse than an early no.
        if (existsSync(file) && !opts.force) throw new UserError(`${displayPath(file)} exists; pass --force to overwrite it`);
        const answers = await gather(opts, Object.keys(loadCatalog().presets));
        if (answers.runtime !== 'docker' && opts.image) throw new UserError('--image applies to runtime docker only');
        writeFileAtomic(file, renderConfig(answers));
        let c;
        try {
          c = await loadCompile(file, 'update');
        } catch (e) {
          // Nothing half-done: a file that does not compile is not left behind.
          rmSync(file, { force: true });
          throw e;
        }
        writeFileAtomic(c.lockPath, serializeLock(c.neededLock));
        const out = process.stdout;
        out.write(green(`wrote ${displayPath(file)} and ${displayPath(c.lockPath)} (valid)`, out) + '\n');
        if (c.diagnostics.length) out.write(formatDiagnosticsText(c.diagnostics, styleFor(out)));
        const s = c.output.sandboxes.find((x) => x.name === answers.name)!;
        const entry = c.config.sandboxes[answers.name]!;
        const spec = {
          base: entry.process?.seccomp?.base ?? 'default',
          allow: entry.process?.seccomp?.allow ?? [],
          deny: entry.process?.seccomp?.deny ?? [],
        };
        out.write('\n' + explainText(s, spec));
        out.write(`\nnext: nemoclaw lint, then nemoclaw apply (or nemoclaw run ${answers.name} in the foreground)\n`);
        return 0;
      }),
    );
}
