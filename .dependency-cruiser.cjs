/**
 * The dependency rules of STYLE.md, checked by `npm run lint:deps` (a step of scripts/test-all.sh).
 * Dependencies point one way: apps → domain libs → scim / persistence / auth → config. Each rule's comment says
 * what goes wrong when it is broken.
 */

const DOMAIN_LIBS = '^libs/(users|groups|jit|identity-providers|saml|oidc|audit)/';
// What the pure code must not load: the framework, the ORM and the database drivers.
const FRAMEWORK_AND_IO = '(^|/)node_modules/(@nestjs/|typeorm/|pg/|sqlite3/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-unresolvable-import',
      severity: 'error',
      comment:
        'An import the cruiser cannot resolve is invisible to every other rule, so a broken @app alias would let ' +
        'them all pass. Fix the path, or the "paths" of tsconfig.json.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-cycle-between-libs',
      severity: 'error',
      comment:
        'A cycle between two libs makes neither usable without the other, and its load order decides which one ' +
        'sees the other half-initialised (undefined imports, Nest "cannot resolve dependency"). Turn the ' +
        'dependency around, as libs/groups/src/group-references.ts does.',
      from: { path: '^libs/([^/]+)/' },
      to: { circular: true, pathNot: '^libs/$1/' },
    },
    {
      name: 'lib-entry-points-only',
      severity: 'error',
      comment:
        'A lib is used through its index (@app/<lib>) or its Nest-free entry point (@app/<lib>/core), never by ' +
        'reaching into its files: what the index does not export is free to change.',
      from: { path: '^(?:apps|libs)/([^/]+)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: ['^libs/$1/', '^libs/[^/]+/src/(index|core)\\.ts$'] },
    },
    {
      name: 'config-is-the-bottom',
      severity: 'error',
      comment: 'Every lib reads its settings from config, so config can import no lib without creating a cycle.',
      from: { path: '^libs/config/' },
      to: { path: '^libs/(?!config/)' },
    },
    {
      name: 'persistence-imports-only-config',
      severity: 'error',
      comment:
        'Persistence (data source, migrations, SQL runners) is under every other lib but config; an import of ' +
        'scim or a domain lib from here is a lower layer depending on a higher one. Types it shares with them ' +
        '(Dialect, SqlRunner) are defined here and re-exported above.',
      from: { path: '^libs/persistence/' },
      to: { path: '^libs/(?!persistence/|config/)' },
    },
    {
      name: 'infrastructure-imports-no-domain-lib',
      severity: 'error',
      comment:
        'scim, persistence, config, auth and idempotency serve every domain lib; importing one of them from here would tie ' +
        'shared code to one resource and close a cycle. Pass what is needed in as a parameter or an interface.',
      from: { path: '^libs/(scim|persistence|config|auth|idempotency)/' },
      to: { path: DOMAIN_LIBS },
    },
    {
      name: 'jit-does-not-import-saml',
      severity: 'error',
      comment:
        'saml calls jit through its public interface at sign-in; jit knows nothing of SAML, so that the JIT rules ' +
        'can be previewed and tested without an assertion parser, and serve another protocol later.',
      from: { path: '^libs/jit/' },
      to: { path: '^libs/saml/' },
    },
    {
      name: 'libs-do-not-import-apps',
      severity: 'error',
      comment: 'Apps are deployables wiring libs together; a lib importing an app could not be reused by the other app.',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'jit-planner-is-pure',
      severity: 'error',
      comment:
        'plan() is a pure function of its arguments: that is what lets planner.spec.ts check every combination ' +
        'of the JIT settings cheaply. It must not load Nest, TypeORM or a database driver, not even through a ' +
        'chain of imports: import the @app/<lib>/core entry points, not the lib indexes.',
      from: { path: '^libs/jit/src/planner\\.ts$' },
      to: { path: FRAMEWORK_AND_IO, reachable: true },
    },
    {
      name: 'core-entry-points-are-pure',
      severity: 'error',
      comment:
        'An @app/<lib>/core entry point promises code that loads no Nest, TypeORM or database driver; the pure ' +
        'code importing it (the JIT planner) relies on that promise.',
      from: { path: '^libs/[^/]+/src/core\\.ts$' },
      to: { path: FRAMEWORK_AND_IO, reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: they are how a lower layer starts to know a higher one (persistence once imported
    // its Dialect type from scim).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['main', 'types', 'typings'],
    },
  },
};
