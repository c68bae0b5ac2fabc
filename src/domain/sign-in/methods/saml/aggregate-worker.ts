// The body of the thread that checks a federation aggregate (aggregate-loader.ts starts it): the
// signature verified and the signed bytes parsed, off the event loop. Plain data goes back (the
// IdPs with a signing key, validUntil, cacheDuration), or the reason it was refused.
import { parentPort, workerData } from 'node:worker_threads';
import { parseIdpMetadata, verifiedAggregate } from './idp-metadata.js';

export interface AggregateJob {
  /** The aggregate as fetched (UTF-8 bytes, transferred, not copied). */
  bytes: Uint8Array;
  certPem: string;
}

const { bytes, certPem } = workerData as AggregateJob;
try {
  const parsed = parseIdpMetadata(verifiedAggregate(new TextDecoder().decode(bytes), certPem));
  // An IdP without a signing key could sign nobody in: not kept.
  parentPort!.postMessage({ ok: true, parsed: { ...parsed, idps: parsed.idps.filter((i) => i.certs.length > 0) } });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error)?.message ?? String(e) });
}
