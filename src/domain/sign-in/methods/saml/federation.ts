// Federation aggregates (InCommon, eduGAIN style): the worker's idle hook fetches each federation
// method's aggregate when due, uses it only if the federation's key signed it and its validUntil
// is ahead, and keeps its IdPs in the database (saml_federation_idp) for the discovery page and
// the ACS. The signature check and the parsing run in a worker thread (aggregate-loader.ts), so
// the event loop keeps answering meanwhile; the database writes stay here. It looks again after
// cacheDuration (6 hours when absent), never later than validUntil; a failed fetch keeps the IdPs
// it has (until their validUntil) and tries again after a doubling wait. Changed settings (URL or
// certificate) are fetched afresh and the old rows are not trusted.
import { createHash } from 'node:crypto';
import type { Db, Queryable } from '../../../../db/database.js';
import { claimDueFederations, federationStatus, findFederationIdp, markFederationFailed, replaceFederationIdps, searchFederationIdps, type FederationIdpRow } from '../../../../db/queries/saml-federation.js';
import { doublingDelayMs } from '../../../../model/backoff.js';
import { verifyAndParseAggregate } from './aggregate-loader.js';
import type { IdpInfo } from './idp-metadata.js';
import { fetchMetadataBytes, type FederationIdps } from './idp-source.js';

const DEFAULT_REFRESH_S = 6 * 3600;
const MIN_REFRESH_S = 5 * 60;
/** Look again this long before validUntil, so a slow federation server does not leave us without metadata. */
const BEFORE_EXPIRY_S = 3600;
const CLAIM_LEASE_S = 10 * 60;
/** Aggregates run to tens of megabytes (eduGAIN ~90 MB); refuse anything far beyond. */
export const MAX_AGGREGATE_BYTES = 256 * 1024 * 1024;

interface FederationConfig {
  federation_metadata_url?: unknown;
  federation_signing_cert?: unknown;
}

export function federationSourceHash(config: FederationConfig): string {
  return createHash('sha256').update(`${String(config.federation_metadata_url ?? '')}\n${String(config.federation_signing_cert ?? '')}`).digest('hex');
}

const toIdp = (r: FederationIdpRow): IdpInfo => ({ entityId: r.entity_id, displayName: r.display_name, ssoUrl: r.sso_url, certs: r.certs, scopes: r.scopes });

/** Where a federation method's aggregate stands (`login-method show`, GET /api/v1/login-methods/{code}). */
export interface FederationStatus {
  /**
   * pending: not loaded under the current settings yet (new, or URL or certificate changed);
   * loaded: its IdPs are in use; expired: past the aggregate's validUntil, no IdP is trusted.
   */
  state: 'pending' | 'loaded' | 'expired';
  /** IdPs in use under the current settings (0 unless loaded). */
  idps: number;
  loadedAt: Date | null;
  validUntil: Date | null;
  /** The next fetch (or, while one runs, when its claim lapses). */
  nextRefreshAt: Date | null;
  /** Failed fetches in a row since the last load, and why the last one failed. */
  failures: number;
  lastError: string | null;
}

export async function federationStatusOf(db: Queryable, methodId: string, config: FederationConfig, now: Date): Promise<FederationStatus> {
  const row = await federationStatus(db, methodId);
  const current = !!row?.fetched_at && row.source_hash === federationSourceHash(config);
  const state = !current ? 'pending' : row.valid_until && row.valid_until <= now ? 'expired' : 'loaded';
  return {
    state,
    idps: state === 'loaded' ? row!.idp_count : 0,
    loadedAt: current ? row.fetched_at : null,
    validUntil: current ? row.valid_until : null,
    nextRefreshAt: row?.next_refresh_at ?? null,
    failures: row?.failures ?? 0,
    lastError: row?.last_error ?? null,
  };
}

export interface RefreshResult {
  methodId: string;
  ok: boolean;
  idps?: number;
  error?: string;
}

export interface FederationOptions {
  /** How to fetch the aggregate (its bytes, handed to the checking thread). */
  fetchAggregate?: (url: string) => Promise<Uint8Array>;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

export function createFederation(db: Db, clock: () => Date, opts: FederationOptions = {}) {
  const fetchAggregate = opts.fetchAggregate ?? ((url: string) => fetchMetadataBytes(url, MAX_AGGREGATE_BYTES));
  let lastLook = 0;

  /** Fetch, verify and keep one method's aggregate now. */
  async function refresh(methodId: string, config: FederationConfig, failures = 0): Promise<RefreshResult> {
    const now = clock();
    try {
      const url = String(config.federation_metadata_url ?? '');
      const cert = String(config.federation_signing_cert ?? '');
      // Signed by the federation's key, parsed, and only IdPs with a signing key: in another thread.
      const parsed = await verifyAndParseAggregate(await fetchAggregate(url), cert);
      if (!parsed.validUntil) throw new Error('the aggregate has no validUntil (a stale copy could be replayed forever)');
      if (parsed.validUntil <= now) throw new Error(`the aggregate expired at ${parsed.validUntil.toISOString()}`);
      const lookAgainS = Math.max(MIN_REFRESH_S, parsed.cacheDurationSeconds ?? DEFAULT_REFRESH_S);
      const next = Math.max(now.getTime() + MIN_REFRESH_S * 1000, Math.min(now.getTime() + lookAgainS * 1000, parsed.validUntil.getTime() - BEFORE_EXPIRY_S * 1000));
      const { idps } = parsed;
      await replaceFederationIdps(db, methodId, {
        sourceHash: federationSourceHash(config),
        fetchedAt: now,
        validUntil: parsed.validUntil,
        nextRefreshAt: new Date(next),
        idps: idps.map((i) => ({ entity_id: i.entityId, display_name: i.displayName, sso_url: i.ssoUrl, certs: i.certs, scopes: i.scopes })),
      });
      opts.log?.('SAML federation metadata loaded', { methodId, idps: idps.length, validUntil: parsed.validUntil.toISOString() });
      return { methodId, ok: true, idps: idps.length };
    } catch (e) {
      const error = (e as Error).message;
      const wait = doublingDelayMs(failures + 1, MIN_REFRESH_S * 1000, DEFAULT_REFRESH_S * 1000);
      await markFederationFailed(db, methodId, error, new Date(now.getTime() + wait));
      opts.log?.('SAML federation metadata refused', { methodId, error });
      return { methodId, ok: false, error };
    }
  }

  /** The idle hook: at most once a minute, every federation that is due, one after the other. */
  async function refreshDue(force = false): Promise<RefreshResult[]> {
    const now = clock();
    if (!force && now.getTime() - lastLook < 60_000) return [];
    lastLook = now.getTime();
    const due = await claimDueFederations(db, now, CLAIM_LEASE_S, federationSourceHash);
    const out: RefreshResult[] = [];
    for (const d of due) out.push(await refresh(d.method_id, d.config, d.failures));
    return out;
  }

  const store: FederationIdps = {
    async idp(methodId, config, entityId, now) {
      const row = await findFederationIdp(db, methodId, now, federationSourceHash(config), entityId);
      return row ? toIdp(row) : null;
    },
    async search(methodId, config, query, limit, now) {
      const words = query.trim().split(/\s+/).filter(Boolean).slice(0, 5);
      const { rows, total } = await searchFederationIdps(db, methodId, now, federationSourceHash(config), words, limit);
      return { idps: rows.map(toIdp), total };
    },
  };

  /** The discovery page's list: IdPs whose name or entity id holds every word of `query`. */
  const discover = (methodId: string, config: FederationConfig, query: string, limit: number) => store.search(methodId, config as never, query, limit, clock());

  return { refresh, refreshDue, store, discover };
}

export type Federation = ReturnType<typeof createFederation>;
