import { ProjectionRequest } from './list-query';
import { resolvePath } from './paths';
import { COMMON_ATTRIBUTES, ScimAttribute, ScimResourceType } from './schema';

type Doc = Record<string, unknown>;
type Plan = { decision: 'all' | 'some' | 'none'; subs: ScimAttribute[] };

/** Plans of the default projection (no attributes, excludedAttributes or attributeSets), shared by all requests. */
const DEFAULT_PLANS = new WeakMap<ScimResourceType, Map<string | undefined, Map<ScimAttribute, Plan>>>();

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
  /**
   * What copy() keeps of each attribute. It depends on the request only, not on the resource, so it is worked
   * out once per attribute rather than once per attribute per resource: on a page of 100 users the repeated
   * decide() calls (lower-cased string keys, Set look-ups) were ~40% of the list's CPU (bench/scim.bench.ts).
   * The default projection's plans are shared between requests, as schemas do not change at run time.
   */
  private readonly plans: Map<string | undefined, Map<ScimAttribute, Plan>>;

  constructor(
    private readonly rt: ScimResourceType,
    request: ProjectionRequest = {},
  ) {
    this.sets = new Set(request.attributeSets ?? []);
    if (!request.attributes?.length && !request.excludedAttributes?.length && !this.sets.size) {
      let shared = DEFAULT_PLANS.get(rt);
      if (!shared) DEFAULT_PLANS.set(rt, (shared = new Map()));
      this.plans = shared;
    } else {
      this.plans = new Map();
    }
    this.selecting = !!request.attributes?.length || this.sets.size > 0;
    for (const raw of request.attributes ?? []) {
      const p = resolvePath(rt, raw.replace(/\[.*\]$/, ''), 'invalidPath');
      this.listed.add(this.key(p.schemaId, p.attribute, p.subAttribute));
      if (p.subAttribute) this.listedParents.add(this.key(p.schemaId, p.attribute));
    }
    for (const raw of request.excludedAttributes ?? []) {
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
    const p = resolvePath(this.rt, path, 'invalidPath');
    return this.decide(p.schemaId, p.attribute) !== 'none';
  }

  apply(doc: Doc): Doc {
    const out: Doc = { schemas: doc.schemas };
    const core = this.rt.schema;
    for (const a of [...COMMON_ATTRIBUTES, ...core.attributes]) {
      const schemaId = COMMON_ATTRIBUTES.includes(a) ? undefined : core.id;
      this.copy(doc, out, schemaId, a);
    }
    for (const ext of this.rt.schemaExtensions) {
      const src = doc[ext.schema.id] as Doc | undefined;
      if (!src || typeof src !== 'object') continue;
      const dst: Doc = {};
      for (const a of ext.schema.attributes) this.copy(src, dst, ext.schema.id, a);
      if (Object.keys(dst).length) out[ext.schema.id] = dst;
    }
    return out;
  }

  private plan(schemaId: string | undefined, a: ScimAttribute): Plan {
    let bySchema = this.plans.get(schemaId);
    if (!bySchema) this.plans.set(schemaId, (bySchema = new Map()));
    let plan = bySchema.get(a);
    if (!plan) {
      const decision = this.decide(schemaId, a);
      const subs = decision === 'none' ? [] : (a.subAttributes ?? []).filter((s) => this.decide(schemaId, s, a, decision === 'all') !== 'none');
      bySchema.set(a, (plan = { decision, subs }));
    }
    return plan;
  }

  private copy(src: Doc, dst: Doc, schemaId: string | undefined, a: ScimAttribute): void {
    const value = src[a.name];
    if (value === undefined || value === null) return;
    const { decision, subs } = this.plan(schemaId, a);
    if (decision === 'none') return;
    if (a.type !== 'complex' || !a.subAttributes) {
      dst[a.name] = value;
      return;
    }
    const pick = (item: Doc): Doc => {
      const o: Doc = {};
      for (const s of subs) {
        if (item[s.name] !== undefined) o[s.name] = item[s.name];
      }
      return o;
    };
    dst[a.name] = Array.isArray(value) ? value.map((v) => pick(v as Doc)) : pick(value as Doc);
  }
}
