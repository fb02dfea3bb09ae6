export * from './database';
export * from './data-source';
export * from './persistence.module';
export * from './rw-lock';
export * from './ids';
export * from './migrations';
export * from './sweeps';
export * from './sql-runner';
