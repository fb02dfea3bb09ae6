import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EntityManager } from 'typeorm';
import { Actor, AuditService } from '@app/audit';
import { Database, newId } from '@app/persistence';
import { Doc } from '@app/scim';
import { IdentityProviderEntity } from './identity-provider.entity';
import { IDENTITY_PROVIDER_RESOURCE_TYPE } from './identity-provider.schema';
import { IdentityProvidersService } from './identity-providers.service';
import { MetadataRead, refreshedRepresentation, RefreshDecision } from './metadata-refresh';
import { fetchMetadataDocument, MetadataFetchError } from './metadata-refresh-fetch';
import { MetadataRefreshSettings, metadataRefreshSettingsOf } from './metadata-refresh-settings';
import { MetadataSignatureRefused, verifiedMetadataXml } from './metadata-refresh-signature';

/** How the refresher runs; server-wide, from the environment (see metadataRefreshOptionsFromEnv). */
export interface MetadataRefreshOptions {
  /** How often this instance looks for identity providers whose refresh is due; 0: never by itself. */
  checkIntervalMs: number;
  /** Certificate authorities trusted, beside the system's, for the TLS of metadata URLs (PEM). */
  extraCaPem: string[];
}

export const METADATA_REFRESH_OPTIONS = Symbol('METADATA_REFRESH_OPTIONS');

/**
 * IDP_METADATA_REFRESH_CHECK_SECONDS (default 60, 0 turns the timer off) and IDP_METADATA_EXTRA_CA_FILE (a PEM
 * bundle of certificate authorities trusted for metadata URLs only, e.g. an internal CA; NODE_EXTRA_CA_CERTS
 * would trust them for every outgoing connection of the process).
 */
export function metadataRefreshOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): MetadataRefreshOptions {
  const seconds = Number(env.IDP_METADATA_REFRESH_CHECK_SECONDS ?? '60');
  if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`IDP_METADATA_REFRESH_CHECK_SECONDS must be a number of seconds, 0 or more (got "${env.IDP_METADATA_REFRESH_CHECK_SECONDS}")`);
  const file = env.IDP_METADATA_EXTRA_CA_FILE;
  const extraCaPem = file ? (readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) : [];
  if (file && !extraCaPem.length) throw new Error(`IDP_METADATA_EXTRA_CA_FILE ${file} holds no PEM certificate`);
  return { checkIntervalMs: seconds * 1000, extraCaPem };
}

/** Who the refresher's changes are made by, in the audit trail and idcsLastModifiedBy. */
export const METADATA_REFRESHER: Actor = { principal: { kind: 'client', id: 'idp-metadata-refresh', name: 'IdP metadata refresh (server)', roles: [] } };

/** What one refresh of one identity provider did. */
export interface RefreshReport {
  idpId: string;
  outcome: RefreshDecision['kind'];
  error?: string;
  written: boolean;
}

const TABLE = 'idp_metadata_refresh';

/**
 * Re-reads the metadata of identity providers that name a metadataUrl, on a schedule, and applies what changed
 * (metadata-refresh.ts). Every instance looks every checkIntervalMs; which one reads a given IdP is decided by a
 * lease row per IdP (migration 1732890000000): the instance whose conditional UPDATE moves `lease_until` from the
 * past to the next due time is the only one to read it for that interval. A change of the IdP's refresh settings
 * makes it due at once. The lease is taken before the read and not given back: an instance that dies mid-read
 * leaves the IdP for the next interval, never to two readers at once.
 */
@Injectable()
export class MetadataRefreshService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('IdpMetadataRefresh');
  private readonly instance = newId();
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private readonly stopping = new AbortController();

  constructor(
    private readonly db: Database,
    private readonly idps: IdentityProvidersService,
    private readonly audit: AuditService,
    @Inject(METADATA_REFRESH_OPTIONS) private readonly options: MetadataRefreshOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.checkIntervalMs > 0) this.schedule();
  }

  /** Stops the timer and waits for a refresh under way, its read cut short: before the database closes. */
  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopping.abort();
    await this.running?.catch(() => undefined);
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.refreshDue()
        .catch((e) => this.logger.error(`metadata refresh failed: ${(e as Error).stack ?? e}`))
        .finally(() => {
          if (!this.stopping.signal.aborted) this.schedule();
        });
    }, this.options.checkIntervalMs);
    this.timer.unref();
  }

  /**
   * Refreshes every identity provider whose refresh is due at `now` and whose lease this instance wins. The
   * timer calls it; tests call it with a clock of their own.
   */
  async refreshDue(now: Date = new Date()): Promise<RefreshReport[]> {
    // Identity providers are few, and only those naming a metadataUrl are read.
    const rows = await this.db.read((m) => m.createQueryBuilder(IdentityProviderEntity, 'r').where('r.data LIKE :p', { p: '%"metadataUrl"%' }).getMany());
    const reports: RefreshReport[] = [];
    for (const row of rows) {
      if (this.stopping.signal.aborted) break;
      const settings = metadataRefreshSettingsOf(JSON.parse(row.data) as Doc);
      if (!settings) continue;
      try {
        if (await this.claim(row.id, settings, now)) reports.push(await this.refresh(row.id, row.partnerName, settings, now));
      } catch (e) {
        this.logger.error(`metadata refresh of identity provider ${row.id} failed: ${(e as Error).stack ?? e}`);
      }
    }
    return reports;
  }

  /** Whether this instance holds the lease to read the IdP now: it was due, or its settings changed. */
  private claim(idpId: string, settings: MetadataRefreshSettings, now: Date): Promise<boolean> {
    const fingerprint = createHash('sha256').update(JSON.stringify(settings)).digest('hex');
    const next = new Date(now.getTime() + settings.intervalMinutes * 60_000).toISOString();
    return this.db.transaction(async (m) => {
      await this.exec(m, `INSERT INTO ${TABLE} (idp_id, settings, lease_until, holder) VALUES (:id, :settings, :due, :holder) ON CONFLICT (idp_id) DO NOTHING`, {
        id: idpId,
        settings: fingerprint,
        due: new Date(0).toISOString(),
        holder: this.instance,
      });
      const claimed = await this.exec(
        m,
        `UPDATE ${TABLE} SET lease_until = :next, settings = :settings, holder = :holder WHERE idp_id = :id AND (lease_until <= :now OR settings <> :settings)`,
        { id: idpId, next, settings: fingerprint, holder: this.instance, now: now.toISOString() },
      );
      return claimed === 1;
    });
  }

  private async exec(m: EntityManager, sql: string, params: Record<string, unknown>): Promise<number> {
    const [text, values] = this.db.sql(m).escape(sql, params);
    const r = await m.queryRunner!.query(text, values, true);
    return r.affected ?? 0;
  }

  private async refresh(idpId: string, name: string, settings: MetadataRefreshSettings, now: Date): Promise<RefreshReport> {
    const read = await this.read(settings);
    let decision: RefreshDecision | undefined;
    const written = await this.idps.applyMetadataRefresh(idpId, METADATA_REFRESHER, (old) => {
      decision = refreshedRepresentation(old, read, now.toISOString());
      return decision.doc;
    });
    const outcome = decision?.kind ?? 'stale';
    if (decision?.kind === 'refused') {
      // Sign-ins go on with the settings the IdP had; the administrator learns why from the resource, the log and the audit trail.
      this.logger.warn(`identity provider ${idpId} "${name}": metadata from ${settings.url} refused: ${decision.error}`);
      await this.db.transaction((m) =>
        this.audit.record(m, {
          eventId: `admin.${IDENTITY_PROVIDER_RESOURCE_TYPE.name}.metadataRefresh`,
          outcome: 'failure',
          reason: 'metadataRefused',
          message: decision?.kind === 'refused' ? decision.error : undefined,
          actor: METADATA_REFRESHER.principal,
          resourceType: IDENTITY_PROVIDER_RESOURCE_TYPE.name,
          resourceId: idpId,
          resourceName: name,
          details: { metadataUrl: settings.url },
        }),
      );
      return { idpId, outcome, error: decision.error, written };
    }
    if (written && outcome === 'applied') this.logger.log(`identity provider ${idpId} "${name}": applied the changed metadata from ${settings.url}`);
    return { idpId, outcome, written };
  }

  /** The document at the URL, verified when the IdP requires a signature, or why it cannot be used. */
  private async read(settings: MetadataRefreshSettings): Promise<MetadataRead> {
    try {
      const body = await fetchMetadataDocument(settings.url, {
        allowPrivateNetwork: settings.allowPrivateNetwork,
        extraCaPem: this.options.extraCaPem,
        signal: this.stopping.signal,
      });
      return { url: settings.url, xml: settings.signingCertificate ? verifiedMetadataXml(body, settings.signingCertificate) : body };
    } catch (e) {
      if (e instanceof MetadataFetchError || e instanceof MetadataSignatureRefused) return { url: settings.url, error: e.message };
      throw e;
    }
  }
}
