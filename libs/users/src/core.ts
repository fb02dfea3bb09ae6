/**
 * `@app/users/core`: the User schema and resource type without the Nest module, repository and entity, for code
 * that must stay pure, such as the JIT planner. Everything here is also exported by the index.
 */
export * from './user.schema';
export * from './user-extensions.schema';
export * from './oci-tags.schema';
export * from './user-rules';
export * from './attribute-sources';
