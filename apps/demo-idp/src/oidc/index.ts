/**
 * The OpenID Connect provider for tests, the benchmark and the demo. This entry point loads no `@app` alias, so
 * the benches (run without tsconfig-paths) can import it by relative path; the demo's registration, which uses
 * @app/fixtures, is exported by the app's index.
 */
export * from './oidc-provider-options';
export * from './start-oidc-provider';
