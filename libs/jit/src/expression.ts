/**
 * The source expressions of IDCS attribute mappings (`managedObjectAttributeName`):
 *   $(assertion.<attribute name>)      an assertion attribute (names are case-sensitive and may hold ':' '/' '.')
 *   $(assertion.fed.nameidvalue)       the Subject NameID
 *   $(assertion.fed.issuerid)          the IdP's entity ID
 *   "text"                             a constant (\" and \\ escape)
 *   #concat(a, b, ...) #upper(a) #lower(a) #toBoolean(a) #trim(a)
 *   anything else without $ # ( ) ,    a bare constant, as IDCS accepts e.g. `Employee`
 */
export type Expression =
  | { kind: 'literal'; value: string }
  | { kind: 'nameId' }
  | { kind: 'issuer' }
  | { kind: 'attribute'; name: string }
  | { kind: 'call'; fn: FunctionName; args: Expression[] };

export type FunctionName = 'concat' | 'upper' | 'lower' | 'toBoolean' | 'trim';

const ARITY: Record<FunctionName, [number, number]> = {
  concat: [1, 32],
  upper: [1, 1],
  lower: [1, 1],
  toBoolean: [1, 1],
  trim: [1, 1],
};

export class ExpressionError extends Error {
  constructor(
    readonly reason: string,
    /** 1-based character position. */
    readonly position: number,
  ) {
    super(`${reason} at position ${position}`);
  }
}

const MAX_LENGTH = 2048;
const MAX_DEPTH = 16;

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Expression {
    if (this.s.length > MAX_LENGTH) throw new ExpressionError(`expression longer than ${MAX_LENGTH} characters`, MAX_LENGTH);
    if (!this.s.trim()) throw new ExpressionError('empty expression', 1);
    const e = this.expr(0, true);
    this.ws();
    if (this.i < this.s.length) throw this.err(`unexpected "${this.s[this.i]}"`);
    return e;
  }

  private err(reason: string): ExpressionError {
    return new ExpressionError(reason, this.i + 1);
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }

  private expr(depth: number, topLevel = false): Expression {
    if (depth > MAX_DEPTH) throw this.err(`functions nested deeper than ${MAX_DEPTH}`);
    this.ws();
    const c = this.s[this.i];
    if (c === undefined) throw this.err('expression ends too early');
    if (c === '$') return this.reference();
    if (c === '#') return this.call(depth);
    if (c === '"') return this.string();
    return this.bare(topLevel);
  }

  private reference(): Expression {
    const start = this.i;
    if (!this.s.startsWith('$(', this.i)) throw this.err('expected "$(" to start a reference');
    const close = this.s.indexOf(')', this.i);
    if (close < 0) throw new ExpressionError('unclosed "$(": add ")"', start + 1);
    const inner = this.s.slice(this.i + 2, close).trim();
    this.i = close + 1;
    if (!inner.startsWith('assertion.') || inner.length === 'assertion.'.length) {
      throw new ExpressionError(`unknown reference "$(${inner})": use $(assertion.<attribute name>)`, start + 1);
    }
    const name = inner.slice('assertion.'.length);
    if (name.toLowerCase() === 'fed.nameidvalue') return { kind: 'nameId' };
    if (name.toLowerCase() === 'fed.issuerid') return { kind: 'issuer' };
    return { kind: 'attribute', name };
  }

  private call(depth: number): Expression {
    const start = this.i;
    this.i++;
    const m = /^[A-Za-z]+/.exec(this.s.slice(this.i));
    if (!m) throw this.err('expected a function name after "#"');
    const fn = (Object.keys(ARITY) as FunctionName[]).find((f) => f.toLowerCase() === m[0].toLowerCase());
    if (!fn) throw new ExpressionError(`unknown function "#${m[0]}" (known: ${Object.keys(ARITY).map((f) => '#' + f).join(', ')})`, start + 1);
    this.i += m[0].length;
    this.ws();
    if (this.s[this.i] !== '(') throw this.err(`expected "(" after #${fn}`);
    this.i++;
    const args: Expression[] = [];
    this.ws();
    if (this.s[this.i] === ')') this.i++;
    else {
      for (;;) {
        args.push(this.expr(depth + 1));
        this.ws();
        const c = this.s[this.i];
        if (c === ',') {
          this.i++;
          continue;
        }
        if (c === ')') {
          this.i++;
          break;
        }
        throw this.err(c === undefined ? `unclosed #${fn}(: add ")"` : `expected "," or ")" but found "${c}"`);
      }
    }
    const [min, max] = ARITY[fn];
    if (args.length < min || args.length > max) {
      throw new ExpressionError(`#${fn} takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}`, start + 1);
    }
    return { kind: 'call', fn, args };
  }

  private string(): Expression {
    const start = this.i;
    this.i++;
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '\\') {
        const next = this.s[this.i + 1];
        if (next !== '"' && next !== '\\') throw this.err('only \\" and \\\\ may be escaped');
        out += next;
        this.i += 2;
        continue;
      }
      if (c === '"') {
        this.i++;
        return { kind: 'literal', value: out };
      }
      out += c;
      this.i++;
    }
    throw new ExpressionError('unclosed string: add a closing "', start + 1);
  }

  private bare(topLevel: boolean): Expression {
    const start = this.i;
    while (this.i < this.s.length && !/[$#(),"]/.test(this.s[this.i])) this.i++;
    const text = this.s.slice(start, this.i).trim();
    if (!text) throw this.err(`unexpected "${this.s[this.i]}"`);
    if (!topLevel && this.i < this.s.length && this.s[this.i] === '(') throw this.err('a function name needs "#" in front');
    return { kind: 'literal', value: text };
  }
}

/** Parses a mapping source expression; throws ExpressionError with the 1-based position of the problem. */
export function parseExpression(source: string): Expression {
  return new Parser(source).parse();
}

/** What an expression is evaluated against: the verified assertion only. */
export interface AssertionContext {
  nameId: string;
  issuer: string;
  /** Attribute values by exact (case-sensitive) attribute name. */
  attributes: Record<string, string[]>;
}

/**
 * Evaluates an expression to its values: undefined when a referenced attribute is absent, [] or [""] when it
 * is present but empty. Functions apply element-wise on the first value, as assertions carry single values
 * for most attributes; #concat joins the first values of its arguments.
 */
export function evaluateExpression(e: Expression, ctx: AssertionContext): string[] | undefined {
  switch (e.kind) {
    case 'literal':
      return [e.value];
    case 'nameId':
      return [ctx.nameId];
    case 'issuer':
      return [ctx.issuer];
    case 'attribute':
      return Object.prototype.hasOwnProperty.call(ctx.attributes, e.name) ? ctx.attributes[e.name] : undefined;
    case 'call': {
      const args = e.args.map((a) => evaluateExpression(a, ctx));
      if (e.fn === 'concat') {
        if (args.every((a) => a === undefined)) return undefined;
        return [args.map((a) => a?.[0] ?? '').join('')];
      }
      const v = args[0];
      if (v === undefined) return undefined;
      switch (e.fn) {
        case 'upper':
          return v.map((x) => x.toUpperCase());
        case 'lower':
          return v.map((x) => x.toLowerCase());
        case 'trim':
          return v.map((x) => x.trim());
        case 'toBoolean':
          return v.map((x) => String(/^(true|1|yes)$/i.test(x.trim())));
      }
    }
  }
}
