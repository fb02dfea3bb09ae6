import { ProjectionRequest } from './list-query';
import { expandSchemaUrns, resolvePath } from './paths';
import { COMMON_ATTRIBUTES, ScimAttribute, ScimResourceType } from './schema';

type Doc = Record<string, unknown>;
type Plan = { decision: 'all' | 'some' | 'none'; subs: ScimAttribute[] };
/** What apply() copies of one attribute: the whole value, or (complex attributes) the listed sub-attributes. */
type Step = { name: string; subs?: string[] };
/** apply() as a list of steps, core attributes first, then each extension's under its URN. */
type Compiled = { core: Step[]; extensions: { id: string; steps: Step[] }[] };
/**
 * What a projection works out from the request alone, never from a resource: per attribute, what is kept (`plans`,
 * decided once rather than once per attribute per resource: on a page of 100 users the repeated decide() calls
 * were ~40% of the list's CPU, bench/scim.bench.ts), those plans as steps for apply(), and includes() answers.
 * The default projection's are shared between requests, as schemas do not change at run time.
 */
type Shared = { plans: Map<string | undefined, Map<ScimAttribute, Plan>>; compiled?: Compiled; includes: Map<string, boolean> };

/** Plans of the default projection (no attributes, excludedAttributes or attributeSets), shared by all requests. */
const DEFAULT_PLANS = new WeakMap<ScimResourceType, Shared>();

/**
 * Decides which attributes a response carries (RFC 7643 `returned`, RFC 7644 §3.9 `attributes` /
 * `excludedAttributes`, IDCS `attributeSets`) and applies that to a full representation.
 */
export class Projection {
  private readonly listed = new Set<string>();
  private readonly listedParents = new Set<string>();
  private readonly excluded = new Set<string>();
  private readonly selecting: boolean;
  private readonly sets: Set<string>;
  private readonly shared: Shared;

  constructor(
    private readonly rt: ScimResourceType,
    request: ProjectionRequest = {},
  ) {
    this.sets = new Set(request.attributeSets ?? []);
    if (!request.attributes?.length && !request.excludedAttributes?.length && !this.sets.size) {
      let shared = DEFAULT_PLANS.get(rt);
      if (!shared) DEFAULT_PLANS.set(rt, (shared = { plans: new Map(), includes: new Map() }));
      this.shared = shared;
    } else {
      this.shared = { plans: new Map(), includes: new Map() };
    }
    this.selecting = !!request.attributes?.length || this.sets.size > 0;
    // A bare schema URN names all of that schema's attributes (scim2-models asks for an extension that way).
    for (const raw of expandSchemaUrns(rt, request.attributes) ?? []) {
      const p = resolvePath(rt, raw.replace(/\[.*\]$/, ''), 'invalidPath');
      this.listed.add(this.key(p.schemaId, p.attribute, p.subAttribute));
      if (p.subAttribute) this.listedParents.add(this.key(p.schemaId, p.attribute));
    }
    for (const raw of expandSchemaUrns(rt, request.excludedAttributes) ?? []) {
      const p = resolvePath(rt, raw, 'invalidPath');
      this.excluded.add(this.key(p.schemaId, p.attribute, p.subAttribute));
    }
  }

  private key(schemaId: string | undefined, a: ScimAttribute, sub?: ScimAttribute): string {
    return `${schemaId ?? ''}|${a.name}${sub ? '.' + sub.name : ''}`.toLowerCase();
  }

  private bySet(a: ScimAttribute): boolean {
    if (this.sets.has('all')) return true;
    if (this.sets.has('default') && a.returned === 'default') return true;
    if (this.sets.has('request') && a.returned === 'request') return true;
    return false;
  }

  private decide(schemaId: string | undefined, a: ScimAttribute, parent?: ScimAttribute, parentWhole = false): 'all' | 'some' | 'none' {
    if (a.returned === 'never') return 'none';
    if (a.returned === 'always') return 'all';
    const k = parent ? this.key(schemaId, parent, a) : this.key(schemaId, a);
    if (!this.selecting) {
      if (this.excluded.has(k)) return 'none';
      if (!parent && a.returned === 'default' && this.excludedSubOf(schemaId, a)) return 'some';
      return a.returned === 'default' || (parent && parentWhole) ? 'all' : 'none';
    }
    if (parentWhole || this.listed.has(k) || this.bySet(a)) return 'all';
    if (!parent && this.listedParents.has(k)) return 'some';
    return 'none';
  }

  private excludedSubOf(schemaId: string | undefined, a: ScimAttribute): boolean {
    return (a.subAttributes ?? []).some((s) => this.excluded.has(this.key(schemaId, a, s)));
  }

  /** Whether the response will carry the attribute at all; lets services skip loading it. */
  includes(path: string): boolean {
    let included = this.shared.includes.get(path);
    if (included === undefined) {
      const p = resolvePath(this.rt, path, 'invalidPath');
      this.shared.includes.set(path, (included = this.decide(p.schemaId, p.attribute) !== 'none'));
    }
    return included;
  }

  apply(doc: Doc): Doc {
    const { core, extensions } = (this.shared.compiled ??= this.compile());
    const out: Doc = { schemas: doc.schemas };
    copySteps(doc, out, core);
    for (const ext of extensions) {
      const src = doc[ext.id];
      if (!src || typeof src !== 'object') continue;
      const dst: Doc = {};
      if (copySteps(src as Doc, dst, ext.steps)) out[ext.id] = dst;
    }
    // RFC 7643 §3: `schemas` names the schemas of the attributes the body carries, so an extension left out (or
    // absent) goes too. Checked on the few ids `schemas` holds, rather than on every extension the type has (a User
    // has a dozen): this runs for every resource of a list.
    const schemas = doc.schemas;
    if (Array.isArray(schemas) && schemas.some((id) => id !== this.rt.schema.id && !(id in out))) {
      out.schemas = (schemas as string[]).filter((id) => id === this.rt.schema.id || id in out);
    }
    return out;
  }

  private compile(): Compiled {
    const steps = (schemaId: string | undefined, attributes: ScimAttribute[]): Step[] =>
      attributes.flatMap((a) => {
        const { decision, subs } = this.plan(schemaId, a);
        if (decision === 'none') return [];
        // A complex value all of whose sub-attributes are kept is copied as it is, not rebuilt: a representation holds
        // only the sub-attributes its schema defines, and rebuilding every one of them costs on every row of a list.
        const keepsAll = !a.subAttributes || subs.length === a.subAttributes.length;
        return [a.type === 'complex' && !keepsAll ? { name: a.name, subs: subs.map((s) => s.name) } : { name: a.name }];
      });
    const core = this.rt.schema;
    return {
      core: [...steps(undefined, COMMON_ATTRIBUTES), ...steps(core.id, core.attributes)],
      extensions: this.rt.schemaExtensions.map((e) => ({ id: e.schema.id, steps: steps(e.schema.id, e.schema.attributes) })),
    };
  }

  private plan(schemaId: string | undefined, a: ScimAttribute): Plan {
    let bySchema = this.shared.plans.get(schemaId);
    if (!bySchema) this.shared.plans.set(schemaId, (bySchema = new Map()));
    let plan = bySchema.get(a);
    if (!plan) {
      const decision = this.decide(schemaId, a);
      const subs = decision === 'none' ? [] : (a.subAttributes ?? []).filter((s) => this.decide(schemaId, s, a, decision === 'all') !== 'none');
      bySchema.set(a, (plan = { decision, subs }));
    }
    return plan;
  }
}

/** Copies what `steps` keep of `src` into `dst`; true when it copied anything. */
function copySteps(src: Doc, dst: Doc, steps: Step[]): boolean {
  let copied = false;
  for (const step of steps) {
    const value = src[step.name];
    if (value === undefined || value === null) continue;
    copied = true;
    const subs = step.subs;
    if (!subs) {
      dst[step.name] = value;
      continue;
    }
    const pick = (item: Doc): Doc => {
      const o: Doc = {};
      for (const s of subs) {
        if (item[s] !== undefined) o[s] = item[s];
      }
      return o;
    };
    dst[step.name] = Array.isArray(value) ? value.map((v) => pick(v as Doc)) : pick(value as Doc);
  }
  return copied;
}
