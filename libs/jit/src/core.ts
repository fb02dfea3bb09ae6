/**
 * `@app/jit/core`: what the SAML validation threads need of JIT, the reading of an assertion. Those threads load
 * this file by relative path (libs/saml/src/response-checks.ts), outside Nest and without the `@app/*` path
 * mapping, so everything it loads at run time must import only packages and relative files: no `@app/...` import
 * other than `import type`. Everything here is also exported by the index.
 */
export * from './assertion';
export type { VerifiedAssertion } from './planner';
