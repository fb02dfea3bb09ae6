import { assertionFromClaims } from './claims';

describe('assertionFromClaims', () => {
  it('should read sub and iss as the NameID and the issuer', () => {
    const a = assertionFromClaims({ sub: 'abc', iss: 'https://idp.example' });
    expect(a.nameId).toBe('abc');
    expect(a.issuer).toBe('https://idp.example');
  });

  it.each([
    ['a string', { email: 'a@example.com' }, 'email', ['a@example.com']],
    ['a boolean as its JSON text', { email_verified: true }, 'email_verified', ['true']],
    ['a number as its JSON text', { age: 42 }, 'age', ['42']],
    ['an array as one value per item', { groups: ['A', 'B'] }, 'groups', ['A', 'B']],
    ['an empty array as no values', { groups: [] }, 'groups', []],
    ['a nested member under a dotted path', { address: { country: 'FR' } }, 'address.country', ['FR']],
    ['a claim whose name holds dots, as sent', { 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups': ['g1'] }, 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups', ['g1']],
  ])('should read %s', (_case, claims, name, values) => {
    expect(assertionFromClaims({ sub: 's', ...claims }).attributes[name]).toEqual(values);
  });

  it('should let a claim named with a dot win over a nested member of the same path', () => {
    const a = assertionFromClaims({ sub: 's', 'address.country': 'top', address: { country: 'nested' } });
    expect(a.attributes['address.country']).toEqual(['top']);
  });

  it('should not read nulls, objects inside arrays, or __proto__', () => {
    const a = assertionFromClaims(JSON.parse('{"sub":"s","n":null,"arr":[{"x":1},"ok"],"__proto__":{"polluted":"yes"}}'));
    expect(a.attributes.n).toBeUndefined();
    expect(a.attributes.arr).toEqual(['ok']);
    expect(Object.prototype.hasOwnProperty.call(a.attributes, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('should give an empty NameID when sub is not a string', () => {
    expect(assertionFromClaims({ sub: 12 }).nameId).toBe('');
  });
});
