import { evaluateExpression, ExpressionError, parseExpression } from './expression';

const ctx = { nameId: 'jdoe@example.com', issuer: 'http://idp.example.com', attributes: { firstName: ['Jane'], empty: [''], groups: ['A', 'B'], 'http://schemas/claims/email': ['J@X.COM'] } };

describe(parseExpression.name, () => {
  it.each<[string, string[] | undefined]>([
    ['$(assertion.firstName)', ['Jane']],
    ['$(assertion.fed.nameidvalue)', ['jdoe@example.com']],
    ['$(assertion.FED.NameIDValue)', ['jdoe@example.com']],
    ['$(assertion.fed.issuerid)', ['http://idp.example.com']],
    ['$(assertion.http://schemas/claims/email)', ['J@X.COM']],
    ['$(assertion.missing)', undefined],
    ['$(assertion.empty)', ['']],
    ['"a \\"quoted\\" value"', ['a "quoted" value']],
    ['Employee', ['Employee']],
    ['#concat("ACME/", $(assertion.fed.nameidvalue))', ['ACME/jdoe@example.com']],
    ['#upper($(assertion.firstName))', ['JANE']],
    ['#lower($(assertion.http://schemas/claims/email))', ['j@x.com']],
    ['#toBoolean("false")', ['false']],
    ['#toBoolean("TRUE")', ['true']],
    ['#lower(#concat($(assertion.firstName), ".", "Doe"))', ['jane.doe']],
    ['#upper($(assertion.groups))', ['A', 'B']],
    ['#upper($(assertion.missing))', undefined],
  ])('should evaluate %s', (source, expected) => {
    expect(evaluateExpression(parseExpression(source), ctx)).toEqual(expected);
  });

  it.each<[string, RegExp, number]>([
    ['$(assertion.firstName', /unclosed "\$\("/, 1],
    ['$(user.firstName)', /unknown reference/, 1],
    ['#nosuch("x")', /unknown function "#nosuch"/, 1],
    ['#upper("a", "b")', /#upper takes 1 argument/, 1],
    ['#concat("a" "b")', /expected "," or "\)"/, 13],
    ['#concat("a", "b"', /unclosed #concat/, 17],
    ['"abc', /unclosed string/, 1],
    ['#upper(x) y', /unexpected "y"/, 11],
    ['', /empty expression/, 1],
  ])('should reject %s', (source, reason, position) => {
    try {
      parseExpression(source);
      throw new Error('parsed');
    } catch (e) {
      expect(e).toBeInstanceOf(ExpressionError);
      expect((e as ExpressionError).reason).toMatch(reason);
      expect((e as ExpressionError).position).toBe(position);
    }
  });
});
