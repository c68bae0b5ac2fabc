// Where a SAML method's IdP comes from: metadata pasted into the settings, metadata at a URL
// (fetched, kept in memory, looked at again after cacheDuration and never used past validUntil),
// or one IdP of a federation aggregate (kept in the database by the refresh job: federation.ts).
import { createHash } from 'node:crypto';
import { MetadataError, parseIdpMetadata, type IdpInfo, type ParsedMetadata } from './idp-metadata.js';

export interface SamlIdpConfig {
  idp_metadata?: string | undefined;
  idp_metadata_url?: string | undefined;
  idp_entity_id?: string | undefined;
  federation_metadata_url?: string | undefined;
  federation_signing_cert?: string | undefined;
}

/** The federation aggregate's IdPs, as the refresh job stored them (wired in by the app). */
export interface FederationIdps {
  /** `config` is the method's: rows fetched under other settings are not trusted. */
  idp(methodId: string, config: SamlIdpConfig, entityId: string, now: Date): Promise<IdpInfo | null>;
  search(methodId: string, config: SamlIdpConfig, query: string, limit: number, now: Date): Promise<{ idps: IdpInfo[]; total: number }>;
}

let federationIdps: FederationIdps | null = null;
/** Set once by the composition root; the module registry is static, the store is not. */
export function useFederationIdps(store: FederationIdps | null): void {
  federationIdps = store;
}
export function federationStore(): FederationIdps | null {
  return federationIdps;
}

export class IdpUnavailable extends Error {}

const FETCH_TIMEOUT_MS = 10_000;
const DEFAULT_REFRESH_S = 6 * 3600;
const MAX_METADATA_BYTES = 2 * 1024 * 1024;

interface Cached {
  parsed: ParsedMetadata;
  fetchedAt: number;
}
const inline = new Map<string, ParsedMetadata>();
const fetched = new Map<string, Cached>();

function remember<K, V>(map: Map<K, V>, key: K, value: V): V {
  if (map.size >= 500) map.delete(map.keys().next().value as K);
  map.set(key, value);
  return value;
}

function usable(parsed: ParsedMetadata, now: Date): boolean {
  return !parsed.validUntil || parsed.validUntil > now;
}

export async function fetchMetadata(url: string, maxBytes = MAX_METADATA_BYTES): Promise<string> {
  return new TextDecoder().decode(await fetchMetadataBytes(url, maxBytes));
}

/** The body as bytes: a federation aggregate goes to a worker thread as they are (transferred, not copied). */
export async function fetchMetadataBytes(url: string, maxBytes = MAX_METADATA_BYTES): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'follow' });
  } catch (e) {
    throw new IdpUnavailable(`metadata at ${url} could not be fetched: ${(e as Error).message}`);
  }
  if (!res.ok) throw new IdpUnavailable(`metadata at ${url} answered ${res.status}`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.byteLength > maxBytes) throw new IdpUnavailable(`metadata at ${url} is larger than ${maxBytes} bytes`);
  return body;
}

async function metadataAtUrl(url: string, now: Date): Promise<ParsedMetadata> {
  const hit = fetched.get(url);
  const refreshS = hit?.parsed.cacheDurationSeconds ?? DEFAULT_REFRESH_S;
  if (hit && now.getTime() - hit.fetchedAt < refreshS * 1000 && usable(hit.parsed, now)) return hit.parsed;
  try {
    const parsed = parseIdpMetadata(await fetchMetadata(url));
    if (!usable(parsed, now)) throw new IdpUnavailable(`metadata at ${url} is past its validUntil`);
    return remember(fetched, url, { parsed, fetchedAt: now.getTime() }).parsed;
  } catch (e) {
    // An IdP's web server down for a while must not stop sign-in while its metadata is still valid.
    if (hit && usable(hit.parsed, now)) return hit.parsed;
    if (e instanceof MetadataError) throw new IdpUnavailable(e.message);
    throw e;
  }
}

function pick(parsed: ParsedMetadata, entityId: string | undefined): IdpInfo {
  const idp = entityId ? parsed.idps.find((i) => i.entityId === entityId) : parsed.idps.length === 1 ? parsed.idps[0] : undefined;
  if (!idp) throw new IdpUnavailable(entityId ? `no IdP ${entityId} in the metadata` : `the metadata holds ${parsed.idps.length} IdPs: set idp_entity_id`);
  return idp;
}

/** Inline metadata, parsed once per distinct text. Throws MetadataError when it does not parse. */
export function inlineMetadata(xml: string): ParsedMetadata {
  // Keyed by digest: the cache must not hold on to every version of a large pasted document.
  const key = createHash('sha256').update(xml).digest('base64');
  return inline.get(key) ?? remember(inline, key, parseIdpMetadata(xml));
}

/**
 * The IdP to send this person to / to trust for this answer. `chosen` is the entity id picked on
 * the discovery page (federation only; ignored otherwise). Throws IdpUnavailable.
 */
export async function resolveIdp(methodId: string, config: SamlIdpConfig, chosen: string | undefined, now: Date): Promise<IdpInfo> {
  if (config.federation_metadata_url) {
    if (!chosen) throw new IdpUnavailable('no IdP chosen');
    if (!federationIdps) throw new IdpUnavailable('federation metadata store not configured');
    const idp = await federationIdps.idp(methodId, config, chosen, now);
    if (!idp) throw new IdpUnavailable(`no IdP ${chosen} in the federation metadata (not loaded yet, expired, or unknown)`);
    return idp;
  }
  if (config.idp_metadata) {
    const parsed = inlineMetadata(config.idp_metadata);
    if (!usable(parsed, now)) throw new IdpUnavailable('the IdP metadata is past its validUntil');
    return pick(parsed, config.idp_entity_id);
  }
  if (config.idp_metadata_url) return pick(await metadataAtUrl(config.idp_metadata_url, now), config.idp_entity_id);
  throw new IdpUnavailable('no IdP metadata configured');
}
