import type { Dialect } from './sql-runner';

const NAMED = /:([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Turns `:name` parameters into the driver's numbered placeholders (`$1` on PostgreSQL, `?1` on SQLite) and the
 * values into an array, remembering the rewrite per SQL text: a list query's SQL is the same for every
 * `userName eq "…"` lookup, only its values change. Only names present in `params` are placeholders (a `:` in a
 * string literal stays). Booleans become 1 / 0 on SQLite, which has no boolean type. Values are always bound,
 * never written into the SQL.
 */
export class SqlParams {
  private readonly rewrites = new Map<string, { text: string; names: string[] }>();

  constructor(
    private readonly dialect: Dialect,
    private readonly capacity = 500,
  ) {}

  bind(sql: string, params: Record<string, unknown>): [string, unknown[]] {
    let rewrite = this.rewrites.get(sql);
    if (!rewrite || rewrite.names.some((n) => !Object.hasOwn(params, n))) {
      const names: string[] = [];
      const text = sql.replace(NAMED, (whole, name: string) => {
        if (!Object.hasOwn(params, name)) return whole;
        let i = names.indexOf(name);
        if (i < 0) i = names.push(name) - 1;
        return this.dialect === 'postgres' ? `$${i + 1}` : `?${i + 1}`;
      });
      rewrite = { text, names };
      if (this.rewrites.size >= this.capacity) this.rewrites.clear();
      this.rewrites.set(sql, rewrite);
    }
    const values = rewrite.names.map((n) => {
      const v = params[n];
      return this.dialect === 'sqlite' && typeof v === 'boolean' ? (v ? 1 : 0) : v;
    });
    return [rewrite.text, values];
  }
}
