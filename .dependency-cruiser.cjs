// The layering rule, checked in CI (`npm run check:layers`). Data flows one way:
// load (config, catalog, lock) → validate (config, lint) → compile (compiler, pure) → plan/apply
// (reconciler) → observe (drivers, daemon). Arrows are imports; nothing points back up.
// docs/architecture.md explains each layer.
const folder = (names) => `^src/(${names.join('|')})/`;

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'No module may import itself back through others.', from: {}, to: { circular: true } },
    {
      name: 'compiler-is-pure',
      severity: 'error',
      comment: 'The compiler takes data and returns data: no file system, network, processes or clock.',
      from: { path: '^src/compiler/' },
      to: {
        path: ['^node:(fs|child_process|net|http|https|dgram|dns|os|worker_threads|cluster)', '^(fs|child_process|net|http|https|os)$'],
        dependencyTypes: ['core'],
      },
    },
    {
      name: 'compiler-imports-only-below',
      severity: 'error',
      from: { path: '^src/compiler/' },
      to: { path: '^src/', pathNot: folder(['compiler', 'generated', 'config', 'util']) },
    },
    {
      name: 'config-is-the-bottom',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: folder(['config', 'generated', 'util']) },
    },
    {
      name: 'util-imports-nothing',
      severity: 'error',
      from: { path: '^src/util/' },
      to: { path: '^src/', pathNot: folder(['util']) },
    },
    {
      name: 'audit-is-below-the-daemon-parts',
      severity: 'error',
      comment: 'The gateway, the router and the daemon all write audit records, so the audit log imports none of them.',
      from: { path: '^src/audit/' },
      to: { path: '^src/', pathNot: folder(['audit', 'util']) },
    },
    {
      name: 'nobody-imports-the-cli',
      severity: 'error',
      comment: 'Views and commands belong to the CLI; the core never reaches up into them.',
      from: { path: '^(src|bench)/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'runtime-side-never-imports-the-reconciler',
      severity: 'error',
      comment: 'The daemon, gateway, router, supervisor and drivers are below plan/apply.',
      from: { path: folder(['daemon', 'gateway', 'router', 'supervisor', 'inbound', 'runtime', 'init-protocol', 'state']) },
      to: { path: folder(['reconciler', 'pipeline', 'lint', 'lock', 'catalog']) },
    },
    {
      name: 'daemon-parts-are-siblings',
      severity: 'error',
      comment:
        'The gateway, the inference router, the supervisor and the port publisher are composed by src/daemon and never import each other.',
      from: { path: '^src/(gateway|router|supervisor|inbound)/' },
      to: { path: '^src/(gateway|router|supervisor|inbound|daemon)/', pathNot: '^src/$1/' },
    },
    {
      name: 'image-builder-is-below-the-pipeline',
      severity: 'error',
      comment: 'src/image builds and stores images; the CLI and the pipeline (lock pinning) use it, it uses only state and util.',
      from: { path: '^src/image/' },
      to: { path: '^src/', pathNot: [folder(['image', 'state', 'config', 'generated', 'util']), '^src/compiler/canonical\\.ts$'] },
    },
    {
      name: 'pipeline-is-below-the-reconciler',
      severity: 'error',
      from: { path: folder(['pipeline', 'lint', 'lock', 'catalog']) },
      to: { path: folder(['reconciler', 'daemon', 'gateway', 'router', 'supervisor', 'inbound', 'runtime']) },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } },
  },
};
