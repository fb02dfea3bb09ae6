import { ProjectionRequest } from './list-query';
import { resolvePath } from './paths';
import { COMMON_ATTRIBUTES, ScimAttribute, ScimResourceType } from './schema';

type Doc = Record<string, unknown>;

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

  constructor(
    private readonly rt: ScimResourceType,
    request: ProjectionRequest = {},
  ) {
    this.sets = new Set(request.attributeSets ?? []);
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

  private copy(src: Doc, dst: Doc, schemaId: string | undefined, a: ScimAttribute): void {
    const value = src[a.name];
    if (value === undefined || value === null) return;
    const decision = this.decide(schemaId, a);
    if (decision === 'none') return;
    if (a.type !== 'complex' || !a.subAttributes) {
      dst[a.name] = value;
      return;
    }
    const pick = (item: Doc): Doc => {
      const o: Doc = {};
      for (const s of a.subAttributes!) {
        if (item[s.name] === undefined) continue;
        if (this.decide(schemaId, s, a, decision === 'all') !== 'none') o[s.name] = item[s.name];
      }
      return o;
    };
    dst[a.name] = Array.isArray(value) ? value.map((v) => pick(v as Doc)) : pick(value as Doc);
  }
}
