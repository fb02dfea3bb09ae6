import { FilterTranslator, filterText, filterToSql, parseFilter, sortExpression, SqlMapping } from './filter';
import { ScimError } from './errors';
import { WIDGET } from './test-fixtures';

const mapping: SqlMapping = {
  documentColumn: 'r.data',
  column: (p) => (p.canonical === 'userName' ? { expr: 'r.user_name_lower', lowered: true } : p.canonical === 'active' ? { expr: 'r.active' } : undefined),
  collection: (p) =>
    p.attribute.name === 'emails'
      ? { from: 'emails v', on: 'v.owner = r.id', value: (sub) => ({ expr: `v.${sub?.name ?? 'value'}`, lowered: sub?.name === 'value' }) }
      : undefined,
};

function scimTypeOf(fn: () => unknown): string | undefined {
  return errorOf(fn)?.scimType;
}

function errorOf(fn: () => unknown): ScimError | undefined {
  try {
    fn();
  } catch (e) {
    return e as ScimError;
  }
  return undefined;
}

describe(parseFilter.name, () => {
  // Filters are written with String.raw: what is inside the backticks is exactly the filter text a client sends.
  it.each([
    [String.raw`userName eq "back\\slash@example.com"`, 'back\\slash@example.com'],
    [String.raw`userName co "\\"`, '\\'],
    [String.raw`userName ew "end\\"`, 'end\\'],
    [String.raw`userName eq "say \"hi\""`, 'say "hi"'],
    [String.raw`userName eq "\\\""`, '\\"'],
    [String.raw`userName eq "a\/b"`, 'a/b'],
    [String.raw`userName eq "tab\there"`, 'tab\there'],
    [String.raw`userName eq "caf\u00E9 \ud83d\ude00"`, 'caf\u00e9 \u{1F600}'],
    [String.raw`userName eq "\\u0041"`, '\\u0041'],
    ['userName eq "plain"', 'plain'],
    ['userName eq "1"', '1'],
  ])('should decode %s by JSON string rules', (filter, value) => {
    expect(parseFilter(filter)).toEqual({ op: expect.any(String), attrPath: 'userName', compValue: value });
  });

  it('should decode every string of a compound filter, including value filters and the sub-attribute after one', () => {
    expect(parseFilter(String.raw`not (userName eq "a\\b") or emails[type eq "x\"y" and value co "\\"].display sw "\u0041"`)).toEqual({
      op: 'or',
      filters: [
        { op: 'not', filter: { op: 'eq', attrPath: 'userName', compValue: 'a\\b' } },
        {
          op: 'and',
          filters: [
            {
              op: '[]',
              attrPath: 'emails',
              valFilter: {
                op: 'and',
                filters: [
                  { op: 'eq', attrPath: 'type', compValue: 'x"y' },
                  { op: 'co', attrPath: 'value', compValue: '\\' },
                ],
              },
            },
            { op: 'sw', attrPath: 'emails.display', compValue: 'A' },
          ],
        },
      ],
    });
  });

  it('should leave numbers, booleans and null as they are', () => {
    expect(parseFilter('size eq 3 and active eq true and title eq null')).toEqual({
      op: 'and',
      filters: [
        { op: 'eq', attrPath: 'size', compValue: 3 },
        { op: 'eq', attrPath: 'active', compValue: true },
        { op: 'eq', attrPath: 'title', compValue: null },
      ],
    });
  });

  it.each([
    [String.raw`userName eq "back\slash"`, String.raw`has the escape "\s", which JSON does not allow: write \\ for a backslash`],
    [String.raw`userName eq "\x41"`, String.raw`has the escape "\x"`],
    [String.raw`userName eq "\u12"`, String.raw`has the escape "\u"`],
    [String.raw`userName eq "ok" or userName co "\\\q"`, String.raw`has the escape "\q"`],
    ['userName eq "line\nbreak"', 'contains the control character U+000A; write it as \\u000a'],
    // PostgreSQL refuses NUL in text: found by the property suite as a 500 on id eq "\u0000".
    [String.raw`id eq "\u0000"`, 'holds a NUL character or an unpaired UTF-16 surrogate'],
    [String.raw`userName eq "\ud800"`, 'holds a NUL character or an unpaired UTF-16 surrogate'],
  ])('should reject %s as invalidFilter, naming what to fix', (filter, detail) => {
    const e = errorOf(() => parseFilter(filter));
    expect(e).toBeInstanceOf(ScimError);
    expect(e).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    expect(e?.detail).toContain(detail);
  });

  it('should quote the client\'s own strings, not placeholders, in syntax errors', () => {
    const e = errorOf(() => parseFilter(String.raw`userName "a\\b" eq "c"`));
    expect(e).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    expect(e?.detail).toContain(String.raw`Unexpected token userName "a\\b" as valFilter operator`);
  });
});

describe(FilterTranslator.name, () => {
  describe('translate', () => {
    it.each([
      ['userName eq "BJensen"', '(r.user_name_lower = :f0)', { f0: 'bjensen' }],
      ['code eq "AbC"', `(json_extract(r.data, '$."code"') = :f0)`, { f0: 'AbC' }],
      ['active eq true', '(r.active = :f0)', { f0: true }],
      ['userName ne "x"', '(r.user_name_lower <> :f0 OR r.user_name_lower IS NULL)', { f0: 'x' }],
      ['userName co "x"', '(instr(r.user_name_lower, :f0) > 0)', { f0: 'x' }],
      ['userName ew "x"', '(substr(r.user_name_lower, -1) = :f0)', { f0: 'x' }],
      ['userName gt "m"', '(r.user_name_lower > :f0)', { f0: 'm' }],
      ['size le 3', `(json_extract(r.data, '$."size"') <= :f0)`, { f0: 3 }],
      ['userName pr', "(r.user_name_lower IS NOT NULL AND r.user_name_lower <> '')", {}],
    ])('should translate %s for SQLite', (filter, sql, params) => {
      expect(filterToSql(WIDGET, mapping, 'sqlite', filter)).toEqual({ sql, params });
    });

    it('should bind the decoded string, not its escaped form', () => {
      expect(filterToSql(WIDGET, mapping, 'sqlite', String.raw`userName co "\\" and code eq "Q\"Z"`).params).toEqual({ f0: '\\', f1: 'Q"Z' });
    });

    it('should use an index-friendly range plus an exact prefix check for sw', () => {
      const { sql, params } = filterToSql(WIDGET, mapping, 'postgres', 'userName sw "Ab"');
      expect(sql).toBe('(r.user_name_lower >= :f1 AND r.user_name_lower < :f2 AND substr(r.user_name_lower, 1, 2) = :f0)');
      expect(params).toEqual({ f0: 'ab', f1: 'ab', f2: 'ab\u{10FFFF}' });
    });

    it('should translate value paths and multi-valued sub-attributes to EXISTS over the collection', () => {
      const { sql, params } = filterToSql(WIDGET, mapping, 'sqlite', 'emails[type eq "work" and value co "@Example.com"]');
      expect(sql).toBe('EXISTS (SELECT 1 FROM emails v WHERE v.owner = r.id AND ((lower(v.type) = :f0) AND (instr(v.value, :f1) > 0)))');
      expect(params).toEqual({ f0: 'work', f1: '@example.com' });
      expect(filterToSql(WIDGET, mapping, 'sqlite', 'emails.value eq "a@b.c"').sql).toBe(
        'EXISTS (SELECT 1 FROM emails v WHERE v.owner = r.id AND (v.value = :f0))',
      );
    });

    it('should make NOT treat unknown (NULL) comparisons as false', () => {
      expect(filterToSql(WIDGET, mapping, 'postgres', 'not (userName eq "a")').sql).toBe('(NOT COALESCE((r.user_name_lower = :f0), false))');
    });

    it('should read unmapped attributes from the JSON document, per dialect', () => {
      expect(filterToSql(WIDGET, mapping, 'postgres', 'name.familyName eq "X"').sql).toBe(`(lower((r.data::jsonb #>> '{"name","familyName"}')) = :f0)`);
      expect(filterToSql(WIDGET, mapping, 'sqlite', 'urn:test:ext:Widget:department eq "X"').sql).toBe(
        `(lower(json_extract(r.data, '$."urn:test:ext:Widget"."department"')) = :f0)`,
      );
      expect(filterToSql(WIDGET, mapping, 'postgres', 'active eq true').params).toEqual({ f0: true });
    });

    it.each([
      ['userName eq', 'invalidFilter'],
      ['nosuch eq "x"', 'invalidFilter'],
      ['active co "t"', 'invalidFilter'],
      ['active gt true', 'invalidFilter'],
      ['size eq "three"', 'invalidFilter'],
      ['emails[type eq "work"', 'invalidFilter'],
      ['name eq "x"', 'invalidFilter'],
      ['__proto__ eq "x"', 'invalidFilter'],
      ['emails[value[type eq "x"] eq "y"]', 'invalidFilter'],
    ])('should reject %s with %s', (filter, scimType) => {
      expect(scimTypeOf(() => filterToSql(WIDGET, mapping, 'sqlite', filter))).toBe(scimType);
    });

    it('should reject filters that are too long or have too many terms', () => {
      expect(scimTypeOf(() => parseFilter('userName eq "' + 'x'.repeat(5000) + '"'))).toBe('invalidFilter');
      const many = Array.from({ length: 250 }, (_, i) => `userName eq "${i}"`).join(' or ');
      expect(scimTypeOf(() => filterToSql(WIDGET, mapping, 'sqlite', many))).toBe('invalidFilter');
    });
  });

  describe('sortExpression', () => {
    it('should sort case-insensitive attributes by their lower-cased value and multi-valued ones by their smallest value', () => {
      expect(sortExpression(WIDGET, mapping, 'sqlite', 'userName')).toBe('r.user_name_lower');
      expect(sortExpression(WIDGET, mapping, 'sqlite', 'code')).toBe(`json_extract(r.data, '$."code"')`);
      expect(sortExpression(WIDGET, mapping, 'sqlite', 'emails.value')).toBe('(SELECT MIN(v.value) FROM emails v WHERE v.owner = r.id)');
      expect(scimTypeOf(() => sortExpression(WIDGET, mapping, 'sqlite', 'name'))).toBe('invalidPath');
    });
  });
});

describe('filterText', () => {
  it.each([
    ['a eq "x" and b pr', 'a eq "x" and b pr'],
    ['a eq "x" and (b eq 1 or not (c ne true))', 'a eq "x" and (b eq 1 or not (c ne true))'],
    ['(a eq "x" and b eq "y") or c eq "z"', '(a eq "x" and b eq "y") or c eq "z"'],
    ['emails[type eq "work"]', 'emails[type eq "work"]'],
    ['a eq "say \\"hi\\""', 'a eq "say \\"hi\\""'],
  ])('should write %s back as %s, which parses to the same filter', (filter, text) => {
    expect(filterText(parseFilter(filter))).toBe(text);
    expect(parseFilter(text)).toEqual(parseFilter(filter));
  });
});
