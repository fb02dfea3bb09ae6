/**
 * `@app/scim/core`: the SCIM protocol rules (schemas, errors, paths, filters, PATCH, resource input) without the
 * Nest module, controllers and HTTP plumbing, for code that must stay pure, such as the JIT planner. Everything
 * here is also exported by the index.
 */
export * from './schema';
export * from './errors';
export * from './paths';
export * from './filter';
export * from './patch';
export * from './resource-input';
