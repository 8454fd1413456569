import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SandboxArtifacts } from '../../src/compiler/artifacts.js';
import {
  checkExample,
  checkImage,
  findInSandbox,
  satisfiesMin,
  type ExampleProbes,
  type ImageFacts,
} from '../../src/cli/example-checks.js';

const DIGEST = `sha256:${'4b'.repeat(32)}`;
const OTHER = `sha256:${'aa'.repeat(32)}`;

function probes(
  over: Partial<ExampleProbes> & { images?: Record<string, ImageFacts>; files?: Record<string, string | null> } = {},
): ExampleProbes {
  const images = over.images ?? {};
  const files = over.files ?? {};
  return {
    dockerReachable: over.dockerReachable ?? true,
    image: (ref) => images[ref] ?? null,
    isExecutable: (p) => Object.hasOwn(files, p),
    nodeVersion: (p) => files[p] ?? null,
    storedImage: over.storedImage ?? (() => false),
  };
}

function sandbox(over: Record<string, unknown>): SandboxArtifacts {
  return {
    sandbox: {
      name: 's',
      runtime: 'process',
      command: ['openclaw', 'gateway'],
      workdir: '/sandbox',
      env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
      mounts: [
        { target: '/usr', mode: 'ro' },
        { target: '/bin', mode: 'ro' },
        { target: '/sandbox', mode: 'rw' },
      ],
      ...over,
    },
  } as unknown as SandboxArtifacts;
}

test('image: a pinned digest no local image has is named as such (placeholder or never pulled)', () => {
  const ref = `ghcr.io/openclaw/openclaw@${DIGEST}`;
  assert.match(checkImage(ref, probes())[0]!, /^image: ghcr\.io\/openclaw\/openclaw pinned at sha256:4b4b4b4b4b4b… is not on this host/);
  // The repository is there but at another digest: the lock and the host disagree.
  const stale = checkImage(ref, probes({ images: { 'ghcr.io/openclaw/openclaw': { id: OTHER, repoDigests: [] } } }));
  assert.match(stale[0]!, /pinned digest sha256:4b4b4b4b4b4b… is not the local ghcr\.io\/openclaw\/openclaw \(sha256:aaaaaaaaaaaa…\)/);
  // Found by reference, or by the pinned digest as an image id (an image the lock pinned by id).
  assert.deepEqual(checkImage(ref, probes({ images: { [ref]: { id: DIGEST, repoDigests: [ref] } } })), []);
  assert.deepEqual(checkImage(ref, probes({ images: { [DIGEST]: { id: DIGEST, repoDigests: [] } } })), []);
  assert.deepEqual(checkImage('busybox:1', probes()), ['image: busybox:1 is not on this host (pull or load it)']);
  // Engine unreachable: said once by the engine check, not per image.
  assert.deepEqual(checkImage(ref, probes({ dockerReachable: false })), []);
});

test('command: found on the sandbox PATH only inside its read-only binds', () => {
  const sb = sandbox({}).sandbox;
  assert.equal(findInSandbox('openclaw', sb, probes({ files: { '/usr/bin/openclaw': null } })), '/usr/bin/openclaw');
  // On the host, but in a directory the sandbox does not see.
  assert.equal(findInSandbox('openclaw', sb, probes({ files: { '/opt/bin/openclaw': null } })), null);
  assert.equal(
    findInSandbox('openclaw', { ...sb, env: { PATH: '/opt/bin:/usr/bin' } }, probes({ files: { '/opt/bin/openclaw': null } })),
    null,
  );
  // /usr/local/bin is first on PATH and under the /usr bind.
  assert.equal(
    findInSandbox('openclaw', sb, probes({ files: { '/usr/local/bin/openclaw': null, '/usr/bin/openclaw': null } })),
    '/usr/local/bin/openclaw',
  );
  assert.equal(findInSandbox('/bin/sh', sb, probes({ files: { '/bin/sh': null } })), '/bin/sh');
  // A rw mount's content is the sandbox's own (state dir), not the host path.
  assert.equal(findInSandbox('/sandbox/run.sh', sb, probes({ files: { '/sandbox/run.sh': null } })), null);
  const r = checkExample(sandbox({}), probes());
  assert.deepEqual(r.reasons, [
    'command: openclaw is not found in the sandbox (PATH /usr/local/bin:/usr/bin:/bin, within its read-only binds)',
  ]);
});

test('node: checked against requires.node when the compiled sandbox has it, skipped otherwise', () => {
  const files = { '/usr/bin/openclaw': null, '/usr/bin/node': 'v20.20.2' };
  assert.deepEqual(checkExample(sandbox({}), probes({ files })).reasons, []);
  const needs = sandbox({ requires: { node: '>=24.16' } });
  assert.deepEqual(checkExample(needs, probes({ files })).reasons, ["node >=24.16: the sandbox's /usr/bin/node is v20.20.2"]);
  assert.deepEqual(checkExample(needs, probes({ files: { ...files, '/usr/bin/node': 'v24.16.0' } })).reasons, []);
  assert.deepEqual(checkExample(needs, probes({ files: { '/usr/bin/openclaw': null } })).reasons, [
    'node >=24.16: no node runs in the sandbox',
  ]);
  const docker = sandbox({ runtime: 'docker', image: `x@${DIGEST}`, requires: { node: '>=24.16' } });
  assert.deepEqual(checkExample(docker, probes({ images: { [`x@${DIGEST}`]: { id: DIGEST, repoDigests: [] } } })), {
    reasons: [],
    warnings: ['node >=24.16: not checked inside the image'],
  });
});

test('process runtime with an image root: runs once nemoclaw built the pinned image; host paths are not searched', () => {
  const sb = sandbox({ image: `nemoclaw/openclaw@${DIGEST}`, requires: { node: '>=24.16' } });
  assert.deepEqual(checkExample(sb, probes()).reasons, [
    'image: nemoclaw/openclaw pinned at sha256:4b4b4b4b4b4b… is not built here: run `nemoclaw image build` on its definition (images/)',
  ]);
  assert.deepEqual(checkExample(sb, probes({ storedImage: (d) => d === DIGEST })).reasons, []);
});

test('satisfiesMin compares numerically', () => {
  assert.equal(satisfiesMin('v24.16.0', '>=24.16'), true);
  assert.equal(satisfiesMin('v24.9.0', '>=24.16'), false);
  assert.equal(satisfiesMin('v100.0.0', '>=24.16'), true);
  assert.equal(satisfiesMin('v24.16.0', '^24'), null);
});
