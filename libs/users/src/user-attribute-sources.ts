import { Column, Entity, EntityManager, In, PrimaryColumn } from 'typeorm';
import { Doc } from '@app/scim';
import { AttributeSource, AttributeSourceType, ATTRIBUTE_SOURCES_SCHEMA_ID } from './attribute-sources';

/** Who last set each attribute of a user (attribute-sources.ts says which keys); gone with the user. */
@Entity('user_attribute_sources')
export class UserAttributeSourceEntity {
  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 32 }) userId!: string;
  @PrimaryColumn({ type: 'varchar', length: 512 }) attribute!: string;
  @Column({ name: 'source_type', type: 'varchar', length: 16 }) sourceType!: string;
  @Column({ name: 'source_id', type: 'varchar', length: 128 }) sourceId!: string;
  @Column({ name: 'source_name', type: 'varchar', length: 1024, nullable: true }) sourceName!: string | null;
  @Column({ type: 'varchar', length: 30 }) updated!: string;
}

/** The path of the attribute that shows the sources. */
export const ATTRIBUTE_SOURCES_PATH = `${ATTRIBUTE_SOURCES_SCHEMA_ID}:attributeSources`;

/**
 * Records `source` as the last writer of `keys` of a user, in the caller's transaction: one upsert. A write by no
 * known source forgets the keys' sources instead, so no source is named for a value it did not set.
 */
export async function recordAttributeSources(m: EntityManager, userId: string, keys: string[], source: AttributeSource | undefined): Promise<void> {
  if (!keys.length) return;
  if (!source) {
    await m.delete(UserAttributeSourceEntity, { userId, attribute: In(keys) });
    return;
  }
  await m
    .createQueryBuilder()
    .insert()
    .into(UserAttributeSourceEntity)
    .values(keys.map((attribute) => ({ userId, attribute, sourceType: source.sourceType, sourceId: source.sourceId, sourceName: source.sourceName ?? null, updated: source.updated })))
    .orUpdate(['source_type', 'source_id', 'source_name', 'updated'], ['user_id', 'attribute'])
    .updateEntity(false)
    .execute();
}

/** The recorded sources of the given users (of only `keys`, when given), in one query. */
export async function attributeSourcesOf(m: EntityManager, userIds: string[], keys?: string[]): Promise<Map<string, Map<string, AttributeSource>>> {
  const out = new Map<string, Map<string, AttributeSource>>();
  if (!userIds.length || keys?.length === 0) return out;
  const where = keys ? { userId: In(userIds), attribute: In(keys) } : { userId: In(userIds) };
  for (const r of await m.find(UserAttributeSourceEntity, { where, order: { attribute: 'ASC' } })) {
    const of = out.get(r.userId) ?? out.set(r.userId, new Map()).get(r.userId)!;
    of.set(r.attribute, { sourceType: r.sourceType as AttributeSourceType, sourceId: r.sourceId, ...(r.sourceName ? { sourceName: r.sourceName } : {}), updated: r.updated });
  }
  return out;
}

/** The representation with its attributeSources extension (attributes without a recorded source are not listed). */
export function withAttributeSources(doc: Doc, sources: Map<string, AttributeSource> | undefined): Doc {
  const schemas = (doc.schemas as string[] | undefined) ?? [];
  const list = [...(sources ?? new Map<string, AttributeSource>())].map(([attribute, s]) => ({ attribute, ...s }));
  if (!list.length) return doc;
  return { ...doc, schemas: [...schemas, ATTRIBUTE_SOURCES_SCHEMA_ID], [ATTRIBUTE_SOURCES_SCHEMA_ID]: { attributeSources: list } };
}
