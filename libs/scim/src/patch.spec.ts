import { applyPatch, parsePatchRequest } from './patch';
import { Doc } from './resource-input';
import { ScimError } from './errors';
import { SCIM_SCHEMAS } from './schema';
import { WIDGET } from './test-fixtures';

const base = (): Doc => ({
  schemas: ['urn:test:Widget'],
  userName: 'w1',
  name: { givenName: 'Ann', familyName: 'Lee' },
  emails: [
    { value: 'a@work.example', type: 'work', primary: true },
    { value: 'a@home.example', type: 'home' },
  ],
  tags: ['x'],
});

const body = (...Operations: unknown[]) => ({ schemas: [SCIM_SCHEMAS.patchOp], Operations });
const run = (doc: Doc, ...ops: unknown[]) => applyPatch(doc, parsePatchRequest(WIDGET, body(...ops)));

function scimTypeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as ScimError).scimType ?? `status ${(e as ScimError).status}`;
  }
  return undefined;
}

describe('applyPatch', () => {
  it.each<[string, unknown, (d: Doc) => unknown, unknown]>([
    ['replace a simple attribute', { op: 'replace', path: 'userName', value: 'w2' }, (d) => d.userName, 'w2'],
    ['accept op in any case', { op: 'Replace', path: 'active', value: 'True' }, (d) => d.active, true],
    ['add a sub-attribute', { op: 'add', path: 'name.familyName', value: 'Li' }, (d) => d.name, { givenName: 'Ann', familyName: 'Li' }],
    ['remove a sub-attribute', { op: 'remove', path: 'name.givenName' }, (d) => d.name, { familyName: 'Lee' }],
    ['append to a multi-valued attribute', { op: 'add', path: 'tags', value: ['y', 'x'] }, (d) => d.tags, ['x', 'y']],
    ['replace a multi-valued attribute', { op: 'replace', path: 'tags', value: ['z'] }, (d) => d.tags, ['z']],
    [
      'set a sub-attribute through a value filter',
      { op: 'replace', path: 'emails[type eq "home"].value', value: 'new@home.example' },
      (d) => (d.emails as Doc[]).map((e) => e.value),
      ['a@work.example', 'new@home.example'],
    ],
    [
      'create the element a value filter names when none matches (Entra ID)',
      { op: 'add', path: 'emails[type eq "other"].value', value: 'o@x.example' },
      (d) => (d.emails as Doc[])[2],
      { type: 'other', value: 'o@x.example' },
    ],
    ['remove elements matching a value filter', { op: 'remove', path: 'emails[type eq "WORK"]' }, (d) => (d.emails as Doc[]).length, 1],
    [
      'keep a single primary',
      { op: 'add', path: 'emails', value: [{ value: 'b@x.example', type: 'other', primary: true }] },
      (d) => (d.emails as Doc[]).filter((e) => e.primary).map((e) => e.value),
      ['b@x.example'],
    ],
    [
      'expand a path-less replace with dotted and URN keys',
      { op: 'replace', value: { 'name.givenName': 'Bo', 'urn:test:ext:Widget:department': 'R&D', active: 'False' } },
      (d) => [(d.name as Doc).givenName, (d['urn:test:ext:Widget'] as Doc).department, d.active],
      ['Bo', 'R&D', false],
    ],
    ['merge a path-less add of a complex value', { op: 'add', value: { name: { familyName: 'Kim' } } }, (d) => d.name, { givenName: 'Ann', familyName: 'Kim' }],
  ])('should %s', (_title, op, pick, expected) => {
    expect(pick(run(base(), op))).toEqual(expected);
  });

  it('should leave its input unchanged', () => {
    const doc = base();
    run(doc, { op: 'remove', path: 'emails' });
    expect(doc).toEqual(base());
  });

  it.each<[string, unknown, string]>([
    ['an unknown op', { op: 'move', path: 'userName', value: 'x' }, 'invalidSyntax'],
    ['remove without path', { op: 'remove' }, 'noTarget'],
    ['an unknown attribute', { op: 'add', path: 'nosuch', value: 'x' }, 'invalidPath'],
    ['__proto__', { op: 'add', path: '__proto__', value: { polluted: true } }, 'invalidPath'],
    ['constructor.prototype', { op: 'add', path: 'constructor.prototype', value: 'x' }, 'invalidPath'],
    ['__proto__ inside a path-less value', { op: 'add', value: { __proto__x: 1, ['__proto__']: { polluted: true } } }, 'invalidPath'],
    ['a read-only attribute', { op: 'replace', path: 'owners', value: [{ value: 'x' }] }, 'mutability'],
    ['a wrong type', { op: 'replace', path: 'size', value: 'big' }, 'invalidValue'],
    ['a filter on a single-valued attribute', { op: 'replace', path: 'userName[value eq "x"]', value: 'x' }, 'invalidPath'],
    ['replace of an unmatched element without equalities', { op: 'replace', path: 'emails[value co "zzz"]', value: { value: 'q@x' } }, 'noTarget'],
  ])('should reject %s', (_title, op, scimType) => {
    expect(scimTypeOf(() => run(base(), op))).toBe(scimType);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('should refuse more than 1000 operations with 413', () => {
    const ops = Array.from({ length: 1001 }, () => ({ op: 'add', path: 'tags', value: 'x' }));
    expect(scimTypeOf(() => run(base(), ...ops))).toBe('tooMany');
  });
});
