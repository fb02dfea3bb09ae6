/** The SQL databases the server runs on. */
export type Dialect = 'sqlite' | 'postgres';

/** Runs plain SQL: `escape` turns `:name` parameters into the driver's placeholders and values. */
export interface SqlRunner {
  escape(sql: string, params: Record<string, unknown>): [string, unknown[]];
  query<T>(sql: string, params: unknown[]): Promise<T[]>;
}
