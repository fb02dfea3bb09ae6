import { compileSignInGate, evaluateSignInGate, signInGateOf } from './sign-in-gate';

const person = (attributes: Record<string, string[]>, nameId = 'jdoe@acme.com') => ({ nameId, issuer: 'https://idp.acme.com', attributes });

describe('evaluateSignInGate', () => {
  it.each<[string, Record<string, string[]>, string | undefined]>([
    ['department eq "Engineering"', { department: ['engineering'] }, undefined],
    ['department eq "Engineering"', { department: ['Sales'] }, 'department eq "Engineering"'],
    ['department eq "Engineering"', {}, 'department eq "Engineering"'],
    ['groups co "Employees"', { groups: ['Contractors', 'All-Employees'] }, undefined],
    ['groups eq "Employees"', { groups: ['Contractors', 'Employees'] }, undefined],
    ['groups ne "Contractors"', { groups: ['Employees', 'Contractors'] }, 'groups ne "Contractors"'],
    ['groups ne "Contractors"', { groups: ['Employees'] }, undefined],
    ['email ew "@acme.com"', { email: ['Jane@ACME.com'] }, undefined],
    ['email sw "jane"', { email: ['john@acme.com'] }, 'email sw "jane"'],
    ['employeeNumber pr', { employeeNumber: [''] }, 'employeeNumber pr'],
    ['employeeNumber pr', { employeeNumber: ['42'] }, undefined],
    ['level ge 3', { level: ['10'] }, undefined],
    ['level ge 3', { level: ['2'] }, 'level ge 3'],
    ['email_verified eq true', { email_verified: ['true'] }, undefined],
    ['address.country eq "FR"', { 'address.country': ['FR'] }, undefined],
    ['fed.nameidvalue ew "@acme.com"', {}, undefined],
    ['not (department eq "Sales")', { department: ['Sales'] }, 'not (department eq "Sales")'],
    ['department eq "Engineering" or department eq "Research"', { department: ['Sales'] }, 'department eq "Engineering" or department eq "Research"'],
    ['department eq "Engineering" and (groups eq "A" or groups eq "B")', { department: ['Engineering'], groups: ['C'] }, 'groups eq "A" or groups eq "B"'],
  ])('should evaluate %s against %j (failing clause: %s)', (gate, attributes, clause) => {
    expect(evaluateSignInGate(compileSignInGate(gate), person(attributes))?.clause).toBe(clause);
  });

  it('should say what the assertion held where the gate failed', () => {
    expect(evaluateSignInGate(compileSignInGate('department eq "Engineering"'), person({ department: ['Sales', 'Support'] }))?.why).toBe('department is "Sales", "Support"');
    expect(evaluateSignInGate(compileSignInGate('department eq "Engineering"'), person({}))?.why).toBe('department is absent');
  });

  it('should match an attribute name ignoring case only when that names one attribute', () => {
    expect(evaluateSignInGate(compileSignInGate('Department eq "x"'), person({ department: ['x'] }))).toBeUndefined();
    expect(evaluateSignInGate(compileSignInGate('Department eq "x"'), person({ department: ['x'], DEPARTMENT: ['y'] }))).toBeDefined();
  });
});

describe('compileSignInGate', () => {
  it.each([
    ['department eq', /not a valid SCIM filter/],
    ['emails[type eq "work"]', /value filter/],
  ])('should refuse %s with a 400 naming the problem', (gate, detail) => {
    expect(() => compileSignInGate(gate)).toThrow(expect.objectContaining({ status: 400, scimType: 'invalidValue', detail: expect.stringMatching(detail) }));
  });

  it('should read no gate from an empty extension', () => {
    expect(signInGateOf(undefined)).toBeUndefined();
    expect(signInGateOf({ signInGate: ' ' })).toBeUndefined();
  });
});
