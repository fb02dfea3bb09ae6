import { FilterTranslator, filterToSql, parseFilter, sortExpression, SqlMapping } from './filter';
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
  try {
    fn();
  } catch (e) {
    return (e as ScimError).scimType;
  }
  return undefined;
}

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
