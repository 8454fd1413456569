// nemoclaw init: a guided setup that writes a commented nemoclaw.yaml and its lock for one
// OpenClaw agent (blueprint openclaw@2), builds the OpenClaw image the package ships (and, for
// Docker, loads it) so that the lock pins its digest, validates and shows what the agent may do.
// Every question has a flag; --yes takes the defaults for the questions no flag answered (no
// prompt at all), building the image included. Nothing is written unless everything succeeded.
import type { CAC } from 'cac';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline/promises';
import { loadCatalog, type Catalog } from '../../catalog/catalog.js';
import {
  checkName,
  checkOnDeny,
  checkRuntime,
  KNOWN_PROVIDERS,
  OPENCLAW_BLUEPRINT,
  parsePresets,
  renderConfig,
  resolveProvider,
  type InitAnswers,
} from '../../config/init-template.js';
import { explainText } from '../../compiler/explain.js';
import { buildImage, cacheDirFor, type BuildResult } from '../../image/build.js';
import { loadIntoDocker } from '../../image/docker-load.js';
import { ImageStore } from '../../image/store.js';
import { checkSource, compileInMemory, displayPath, lockFor, type ConfigSource } from '../../pipeline/pipeline.js';
import { lockPathFor, serializeLock } from '../../lock/lock.js';
import { resolveStateDir } from '../../state/paths.js';
import { writeFilesAtomic } from '../../util/atomic-write.js';
import { UserError } from '../../util/errors.js';
import { imagesDir } from '../../util/package-paths.js';
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
  /** --build-image: true; --no-build-image: false; neither: undefined (asked, or yes with --yes). */
  buildImage?: boolean;
  dir: string;
  force?: boolean;
}

/** The image definition the package ships for the openclaw blueprint (package.json `files` has images/). */
const OPENCLAW_IMAGE_DIR = join(imagesDir, 'openclaw');
const BUILD_QUESTION = 'Build the OpenClaw image now? (about 5–8 minutes the first time)';

/** How the image the agent runs from gets pinned: built now, named by --image, or left for later. */
type ImagePlan = 'build' | 'given' | 'later';

const DEFAULTS = { name: 'assistant', runtime: 'process', provider: 'nvidia', presets: 'github', onDeny: 'ask', build: 'yes' } as const;

function checkYesNo(answer: string): boolean {
  const a = answer.toLowerCase();
  if (a === 'yes' || a === 'y') return true;
  if (a === 'no' || a === 'n') return false;
  throw new UserError(`"${answer}": answer yes or no`);
}

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

async function gather(opts: InitOptions, presetNames: string[]): Promise<{ answers: InitAnswers; plan: ImagePlan }> {
  const given = <T>(v: string | undefined, check: (s: string) => T): T | undefined => (v === undefined ? undefined : check(String(v)));
  const name = given(opts.name, checkName);
  const runtime = given(opts.runtime, checkRuntime);
  const onDeny = given(opts.onDeny, checkOnDeny);
  const presets = given(opts.presets, (s) => parsePresets(s, presetNames));
  const providerFlag = opts.provider === undefined ? undefined : String(opts.provider);
  const image = opts.image === undefined ? undefined : String(opts.image);
  // --image names the image to run: nothing to build, and nothing to ask about it.
  const planFlag: ImagePlan | undefined =
    image !== undefined ? 'given' : opts.buildImage === undefined ? undefined : opts.buildImage ? 'build' : 'later';
  if (opts.yes) {
    const answers: InitAnswers = {
      name: name ?? DEFAULTS.name,
      runtime: runtime ?? DEFAULTS.runtime,
      provider: resolveProvider(providerFlag ?? DEFAULTS.provider, opts.credential, opts.model),
      presets: presets ?? parsePresets(DEFAULTS.presets, presetNames),
      onDeny: onDeny ?? DEFAULTS.onDeny,
      image,
    };
    return { answers, plan: planFlag ?? 'build' };
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
    a.image = image;
    const plan = planFlag ?? ((await ask(rl, BUILD_QUESTION, DEFAULTS.build, checkYesNo)) ? 'build' : 'later');
    return { answers: a, plan };
  } finally {
    rl.close();
  }
}

/** A path as the user would type it in `base`: relative when that is shorter, shell-quoted when needed. */
function shellPath(base: string, path: string): string {
  const rel = relative(base, path);
  const shown = rel && !rel.startsWith('..') && rel.length < path.length ? rel : path;
  return /^[\w@%+=:,./-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}

/**
 * Builds the package's images/openclaw into the image store (`nemoclaw image build`) and, for
 * Docker, gives it to the engine (`--load`). The built name:tag must be the blueprint's image:
 * that is what the lock pins.
 */
async function buildOpenclawImage(runtime: 'process' | 'docker', expectedRef: string | undefined): Promise<BuildResult> {
  const out = process.stderr;
  const stateDir = resolveStateDir();
  out.write(
    `building the OpenClaw image from ${displayPath(OPENCLAW_IMAGE_DIR)} (about 5–8 minutes the first time; ` +
      `later builds take seconds from the cache in ${displayPath(cacheDirFor(stateDir))})\n`,
  );
  const started = Date.now();
  let r: BuildResult;
  try {
    r = buildImage(OPENCLAW_IMAGE_DIR, { stateDir, progress: (l) => out.write(`  ${l} (${seconds(started)})\n`) });
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`building the OpenClaw image failed: ${(e as Error).message}`);
  }
  if (expectedRef !== undefined && r.ref !== expectedRef) {
    throw new Error(`${OPENCLAW_IMAGE_DIR} builds ${r.ref}, but blueprint ${OPENCLAW_BLUEPRINT} runs ${expectedRef}`);
  }
  out.write(`built ${r.ref} ${r.digest} in ${seconds(started)}\n`);
  if (runtime === 'docker') {
    const store = ImageStore.open(stateDir);
    out.write(`${await loadIntoDocker(store, store.find(r.digest)!, r.ref, stateDir)}\n`);
  }
  return r;
}

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(0)} s`;

/** --no-build-image: the file and a lock of what can be pinned without the image, and the steps left. */
async function writeWithoutImage(src: ConfigSource, catalog: Catalog, answers: InitAnswers): Promise<number> {
  const checked = checkSource(src, catalog);
  const { neededLock } = await lockFor(checked, { mode: 'update' });
  writeFilesAtomic([
    [src.file, src.text],
    [src.lockPath, serializeLock(neededLock)],
  ]);
  const out = process.stdout;
  const dir = dirname(src.file);
  out.write(
    green(`wrote ${src.shown} and ${displayPath(src.lockPath)} (valid; the image is not built, so the lock does not pin it yet)`, out) +
      '\n',
  );
  if (checked.diagnostics.length) out.write(formatDiagnosticsText(checked.diagnostics, styleFor(out)));
  const steps = [
    ...(relative(process.cwd(), dir) ? [`cd ${shellPath(process.cwd(), dir)}`] : []),
    `nemoclaw image build ${shellPath(dir, OPENCLAW_IMAGE_DIR)}${answers.runtime === 'docker' ? ' --load' : ''}`,
    'nemoclaw compile --update-lock',
    `nemoclaw explain ${answers.name}`,
    'nemoclaw apply',
  ];
  out.write(`\nnext steps (apply refuses to start the agent until the lock pins its image):\n${steps.map((l) => `  ${l}\n`).join('')}`);
  return 0;
}

/** The image is built or named: compile (pinning it), write the file and its lock, explain. */
async function writeCompiled(src: ConfigSource, answers: InitAnswers): Promise<number> {
  const c = await compileInMemory(src, 'update');
  writeFilesAtomic([
    [src.file, src.text],
    [c.lockPath, serializeLock(c.neededLock)],
  ]);
  const out = process.stdout;
  out.write(green(`wrote ${src.shown} and ${displayPath(c.lockPath)} (valid)`, out) + '\n');
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
}

export function register(cli: CAC): void {
  cli
    .command('init', 'Write a commented nemoclaw.yaml and lock for one OpenClaw agent (asks, or takes flags with --yes)')
    .option('-y, --yes', 'Ask nothing: flags, else defaults (which build the image)')
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
    // Only --build-image is declared: cac would default a declared --no-build-image's value to
    // true, hiding whether the user chose; mri still reads --no-build-image as buildImage: false.
    .option(
      '--build-image',
      'Build the OpenClaw image the package ships (images/openclaw; docker: and load it) so the lock pins it ' +
        '(the default; --no-build-image writes the files and prints the steps instead)',
    )
    .option('--image <ref>', 'Run this image (already built or loaded, or name@sha256:…) instead of building one')
    .option('--dir <dir>', 'Directory to write nemoclaw.yaml and nemoclaw.lock in', { default: '.' })
    .option('--force', 'Overwrite an existing nemoclaw.yaml (kept if init fails)')
    .action(
      command(async (opts: InitOptions) => {
        const dir = resolve(String(opts.dir));
        const file = join(dir, 'nemoclaw.yaml');
        if (opts.image !== undefined && opts.buildImage === true) {
          throw new UserError('give --image (an image this host already has) or --build-image, not both', [], 2);
        }
        // Refuse before asking anything: answers typed for nothing are worse than an early no.
        if (existsSync(file) && !opts.force) throw new UserError(`${displayPath(file)} exists; pass --force to overwrite it`);
        const catalog = loadCatalog();
        const { answers, plan } = await gather(opts, Object.keys(catalog.presets));
        const text = renderConfig(answers);
        // Nothing is written until everything succeeded: the file and its lock are checked and
        // compiled from memory, then renamed into place together (an existing file survives a failure).
        const src: ConfigSource = { file, shown: displayPath(file), text, lock: undefined, lockPath: lockPathFor(file) };
        if (plan === 'later') return writeWithoutImage(src, catalog, answers);
        if (plan === 'build') {
          // Without --image the entry names no image of its own, so the file can be checked now:
          // invalid answers fail here, before minutes of building.
          await lockFor(checkSource(src, catalog), { mode: 'update' });
          const [bpName, bpVersion] = OPENCLAW_BLUEPRINT.split('@') as [string, string];
          await buildOpenclawImage(answers.runtime, catalog.loadBlueprint(bpName, Number(bpVersion)).sandbox.image);
        }
        return writeCompiled(src, answers);
      }),
    );
}
