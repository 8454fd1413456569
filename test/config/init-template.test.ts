import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  checkCredential,
  OPENCLAW_BLUEPRINT,
  OPENCLAW_MODEL_ALIAS,
  parsePresets,
  renderConfig,
  resolveProvider,
  type InitAnswers,
} from '../../src/config/init-template.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { checkSource, compileChecked } from '../../src/pipeline/pipeline.js';
import { UserError } from '../../src/util/errors.js';
import { blueprintsDir, imagesDir } from '../../src/util/package-paths.js';

const PRESETS = ['github', 'pypi', 'slack'];

const catalog = loadCatalog();
const [BP_NAME, BP_VERSION] = OPENCLAW_BLUEPRINT.split('@') as [string, string];
/** The image the blueprint runs (what `init` builds and the lock pins). */
const BLUEPRINT_IMAGE = catalog.loadBlueprint(BP_NAME, Number(BP_VERSION)).sandbox.image!;

function check(text: string) {
  return checkSource({ file: '/x/nemoclaw.yaml', shown: 'nemoclaw.yaml', text, lock: undefined, lockPath: '/x/nemoclaw.lock' }, catalog);
}

/** Compiled as apply would once the lock pins the image (the CLI tests cover the real pinning). */
async function compiled(text: string) {
  const pins = { [BLUEPRINT_IMAGE]: `sha256:${'a'.repeat(64)}` };
  const c = check(text);
  return compileChecked(
    { ...c, lock: { lock_version: 1, blueprints: {}, presets: {}, facts: {}, images: pins } },
    {
      mode: 'update',
      gitCommit: null,
    },
  );
}

test('the generated file extends the newest openclaw blueprint, whose image the package ships and whose model is the alias', () => {
  assert.equal(BP_NAME, 'openclaw');
  assert.equal(Math.max(...catalog.blueprintVersions.openclaw!), Number(BP_VERSION));
  // images/openclaw builds exactly the image the blueprint runs, and its OpenClaw asks for nemoclaw/<alias>.
  const def = parse(readFileSync(join(imagesDir, 'openclaw', 'image.yaml'), 'utf8'));
  assert.equal(`${def.name}:${def.tag}`, BLUEPRINT_IMAGE);
  const openclaw = JSON.parse(readFileSync(join(imagesDir, 'openclaw', 'openclaw.json'), 'utf8'));
  assert.equal(openclaw.agents.defaults.model.primary, `nemoclaw/${OPENCLAW_MODEL_ALIAS}`);
  assert.equal(openclaw.models.providers.nemoclaw.api, 'openai-completions');
  assert.ok(readFileSync(join(blueprintsDir, BP_NAME, `v${BP_VERSION}`, 'blueprint.yaml'), 'utf8').includes(BLUEPRINT_IMAGE));
});

test('every combination of answers renders a file that validates, compiles once the image is pinned, and says what was chosen', async () => {
  for (const runtime of ['process', 'docker'] as const) {
    for (const provider of ['nvidia', 'openai', 'anthropic', 'http://127.0.0.1:11434/v1']) {
      for (const onDeny of ['ask', 'deny'] as const) {
        const a: InitAnswers = { name: 'my-agent', runtime, provider: resolveProvider(provider), presets: ['github', 'slack'], onDeny };
        const text = renderConfig(a);
        const checked = check(text);
        // Clean: no error and no warning (a local server's two expected warnings are suppressed in the file).
        assert.deepEqual(checked.diagnostics, [], `${runtime}/${provider}/${onDeny}:\n${text}`);
        const v = parse(text);
        const sb = v.sandboxes['my-agent'];
        assert.equal(sb.blueprint, OPENCLAW_BLUEPRINT);
        assert.equal(sb.runtime, runtime);
        assert.equal(sb.image, undefined); // the blueprint's
        assert.match(text, /^\s*# The OpenClaw blueprint, v2:/m);
        assert.deepEqual(sb.network.presets, ['github', 'slack']);
        assert.equal(sb.network.on_deny, onDeny);
        const id = a.provider.id;
        assert.equal(sb.inference.provider, id);
        // OpenClaw asks for `default` through the OpenAI API: the alias maps it to the provider's model, on that API.
        assert.deepEqual(sb.inference.models, { [OPENCLAW_MODEL_ALIAS]: { provider: id, model: a.provider.model } });
        assert.equal(v.inference.providers[id].api, 'openai');
        const c = await compiled(text);
        const s = c.output.sandboxes[0]!;
        assert.equal(s.artifacts.sandbox.image, `nemoclaw/openclaw@sha256:${'a'.repeat(64)}`);
        assert.equal(s.artifacts.sandbox.runtime, runtime);
        assert.equal(v.inference.providers[id].endpoint, a.provider.endpoint);
        assert.equal(v.inference.providers[id].credential, a.provider.credential);
        // Commented: each section explains itself.
        assert.match(text, /^\s*# .*inference router/m);
        assert.match(text, onDeny === 'ask' ? /# ask: a refused request is queued/ : /# deny: /);
      }
    }
  }
});

test('a local server gets an openai provider named local, without a key unless one is given', () => {
  const p = resolveProvider('http://127.0.0.1:8000/v1/', undefined, 'qwen2.5');
  assert.deepEqual(p, { id: 'local', api: 'openai', endpoint: 'http://127.0.0.1:8000/v1', model: 'qwen2.5' });
  assert.equal(resolveProvider('http://127.0.0.1:8000/v1', 'file:/etc/keys/local').credential, 'file:/etc/keys/local');
  assert.equal(resolveProvider('anthropic', 'env:MY_KEY').credential, 'env:MY_KEY');
  assert.throws(() => resolveProvider('mistral'), /provider "mistral": use nvidia, openai, anthropic or the URL/);
});

test('a credential that is not env:NAME or file:/path is refused without echoing it', () => {
  const key = 'nvapi-THIS-IS-A-PASTED-KEY-123';
  assert.throws(
    () => checkCredential(key),
    (e: unknown) => e instanceof UserError && !e.message.includes(key) && /env:NAME or file:\/absolute\/path/.test(e.message),
  );
  assert.throws(() => checkCredential('file:relative/path'), UserError);
  assert.equal(checkCredential('env:NVIDIA_API_KEY'), 'env:NVIDIA_API_KEY');
});

test('presets: catalog names only, order kept, repeats dropped', () => {
  assert.deepEqual(parsePresets('slack, github,slack', PRESETS), ['slack', 'github']);
  assert.deepEqual(parsePresets('', PRESETS), []);
  assert.throws(() => parsePresets('github,gitlab', PRESETS), /unknown preset gitlab \(available: github, pypi, slack\)/);
});

test('a value that YAML would read as something else is quoted', () => {
  const text = renderConfig({
    name: 'a',
    runtime: 'docker',
    image: 'registry.local:5000/openclaw:on',
    provider: resolveProvider('openai', undefined, 'yes'),
    presets: [],
    onDeny: 'deny',
  });
  const v = parse(text);
  assert.equal(v.sandboxes.a.image, 'registry.local:5000/openclaw:on');
  assert.equal(v.inference.providers.openai.model, 'yes');
  assert.equal(v.sandboxes.a.inference.models.default.model, 'yes');
  assert.deepEqual(v.sandboxes.a.network.presets, []);
});

test('--image names the image in the entry, for either runtime; unpinned, lint refuses it', () => {
  for (const runtime of ['process', 'docker'] as const) {
    const text = renderConfig({
      name: 'a',
      runtime,
      image: 'team/openclaw:7',
      provider: resolveProvider('nvidia'),
      presets: [],
      onDeny: 'ask',
    });
    assert.equal(parse(text).sandboxes.a.image, 'team/openclaw:7');
    // Unpinned, lint says so: init pins it (or refuses) before writing anything.
    assert.deepEqual(
      check(text).diagnostics.map((d) => d.rule),
      ['image-not-pinned'],
    );
  }
});
