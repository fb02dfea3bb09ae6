import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Filter } from 'scim2-parse-filter';
import type { Expression } from './expression';
import type { JitConfig, VerifiedAssertion } from './planner';

/**
 * A user's last verified sign-in inputs through one IdP (jit_sign_in_inputs): what the change-impact report plans
 * from. `inputs` is the JSON of a RecordedInputs.
 */
@Entity('jit_sign_in_inputs')
export class JitSignInInputEntity {
  @PrimaryColumn({ name: 'idp_id', type: 'varchar', length: 32 }) idpId!: string;
  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 32 }) userId!: string;
  @Column({ type: 'text' }) inputs!: string;
  @Column({ type: 'varchar', length: 30 }) updated!: string;
}

/** What is kept of a verified assertion: the NameID, the issuer and the attributes the IdP's JIT reads. */
export type RecordedInputs = VerifiedAssertion;

/** Days the inputs are kept when the IdP's JIT policy says nothing; 0 keeps none. */
export const DEFAULT_INPUT_RETENTION_DAYS = 90;

/**
 * The assertion attributes (or claims) an IdP's JIT configuration reads: those its mappings' expressions name, its
 * group attribute, its lookup attribute and its gate's. Only these are kept of a sign-in: the rest of the assertion
 * is none of the report's business.
 */
export function inputNamesOf(config: JitConfig): Set<string> {
  const names = new Set<string>();
  const walk = (e: Expression): void => {
    if (e.kind === 'attribute') names.add(e.name);
    else if (e.kind === 'call') e.args.forEach(walk);
  };
  for (const m of config.mappings) walk(m.source);
  if (config.groups.attributeName) names.add(config.groups.attributeName);
  if (config.lookup.assertionAttribute) names.add(config.lookup.assertionAttribute);
  if (config.gate && 'filter' in config.gate) filterNames(config.gate.filter, names);
  return names;
}

function filterNames(f: Filter, into: Set<string>): void {
  switch (f.op) {
    case 'and':
    case 'or':
      f.filters.forEach((x) => filterNames(x, into));
      return;
    case 'not':
      filterNames(f.filter, into);
      return;
    default:
      if (!f.attrPath.toLowerCase().startsWith('fed.')) into.add(f.attrPath);
  }
}

/** The part of a verified assertion kept for the report. Pure. */
export function recordedInputsOf(config: JitConfig, a: VerifiedAssertion): RecordedInputs {
  const attributes: Record<string, string[]> = {};
  // Names ignoring case, as the gate reads them (sign-in-gate.ts): the list is built once, not per attribute.
  const wanted = new Set([...inputNamesOf(config)].map((n) => n.toLowerCase()));
  for (const name of Object.keys(a.attributes)) {
    if (wanted.has(name.toLowerCase())) attributes[name] = a.attributes[name];
  }
  return { nameId: a.nameId, ...(a.nameIdFormat ? { nameIdFormat: a.nameIdFormat } : {}), issuer: a.issuer, attributes };
}
