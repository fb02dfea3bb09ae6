/**
 * `@app/persistence/core`: the part of this lib that loads neither Nest nor TypeORM, for code that must stay pure
 * (the SCIM filter translator, and through it the JIT planner). Everything here is also exported by the index.
 */
export * from './sql-runner';
