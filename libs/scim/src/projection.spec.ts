import { Projection } from './projection';
import { WIDGET } from './test-fixtures';

const full = {
  schemas: ['urn:test:Widget'],
  id: '1',
  meta: { resourceType: 'Widget' },
  userName: 'w',
  code: 'C',
  secret: 's3cret',
  note: 'n',
  name: { givenName: 'Ann', familyName: 'Lee' },
  'urn:test:ext:Widget': { department: 'D' },
};

describe(Projection.name, () => {
  describe('apply', () => {
    it.each<[string, Record<string, unknown>, string[]]>([
      ['return default and always attributes, never write-only or request ones', {}, ['schemas', 'id', 'meta', 'userName', 'code', 'name', 'urn:test:ext:Widget']],
      ['return only requested attributes plus always ones', { attributes: ['code'] }, ['schemas', 'id', 'userName', 'code']],
      ['return request attributes when named', { attributes: ['note'] }, ['schemas', 'id', 'userName', 'note']],
      ['leave out excluded attributes but never always ones', { excludedAttributes: ['code', 'userName', 'meta'] }, ['schemas', 'id', 'userName', 'name', 'urn:test:ext:Widget']],
      ['honour attributeSets=all except never', { attributeSets: ['all'] }, ['schemas', 'id', 'meta', 'userName', 'code', 'note', 'name', 'urn:test:ext:Widget']],
      ['honour attributeSets=always', { attributeSets: ['always'] }, ['schemas', 'id', 'userName']],
      ['select extension attributes by URN', { attributes: ['urn:test:ext:Widget:department'] }, ['schemas', 'id', 'userName', 'urn:test:ext:Widget']],
    ])('should %s', (_title, request, keys) => {
      expect(Object.keys(new Projection(WIDGET, request).apply(full)).sort()).toEqual(keys.sort());
    });

    it('should select single sub-attributes', () => {
      expect(new Projection(WIDGET, { attributes: ['name.givenName'] }).apply(full).name).toEqual({ givenName: 'Ann' });
      expect(new Projection(WIDGET, { excludedAttributes: ['name.givenName'] }).apply(full).name).toEqual({ familyName: 'Lee' });
    });

    it('should never return write-only attributes, even when asked', () => {
      expect(new Projection(WIDGET, { attributes: ['secret'], attributeSets: ['all'] }).apply(full).secret).toBeUndefined();
    });
  });
});
