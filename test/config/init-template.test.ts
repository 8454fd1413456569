import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  checkCredential,
  OPENCLAW_BLUEPRINT,
  OPENCLAW_IMAGE,
  parsePresets,
  renderConfig,
  resolveProvider,
  type InitAnswers,
} from '../../src/config/init-template.js';
import { checkSource } from '../../src/pipeline/pipeline.js';
import { UserError } from '../../src/util/errors.js';

const PRESETS = ['github', 'pypi', 'slack'];

function check(text: string) {
  // The lock `init` writes pins the image (the CLI test covers that); here a pin stands in for it.
  const pinned = { [OPENCLAW_IMAGE]: `sha256:${'a'.repeat(64)}` };
  return checkSource(
    { file: '/x/nemoclaw.yaml', shown: 'nemoclaw.yaml', text, lock: undefined, lockPath: '/x/nemoclaw.lock' },
    undefined,
    undefined,
    pinned,
  );
}

test('every combination of answers renders a file that validates and says what was chosen', () => {
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
        assert.equal(sb.image, runtime === 'docker' ? OPENCLAW_IMAGE : undefined);
        assert.deepEqual(sb.network.presets, ['github', 'slack']);
        assert.equal(sb.network.on_deny, onDeny);
        const id = a.provider.id;
        assert.equal(sb.inference.provider, id);
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
  assert.deepEqual(v.sandboxes.a.network.presets, []);
});
