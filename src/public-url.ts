// The base of every link Carrel writes: the `link` of each user in the Alma API, the same field in
// export files, and the set-password and login links it e-mails. A link must never come from a
// request's Host header, which any client sets: one pointing at an attacker's host, followed by
// a script with its API key, or mailed to a user, leaks the key or the token.
import type { Config } from './config.js';

/** What a trusted reverse proxy said the client asked for (X-Forwarded-Proto and -Host). */
export interface ForwardedOrigin {
  protocol: 'http' | 'https';
  host: string;
}

const WILDCARD = ['0.0.0.0', '::', '[::]', ''];

/** localhost, 127.0.0.0/8, ::1: an address only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * CARREL_PUBLIC_URL when set; else, for a request through a trusted proxy, what the proxy
 * forwarded; else the server's own configured host and port (localhost for a wildcard address).
 */
export function publicBaseUrl(config: Pick<Config, 'publicUrl' | 'host' | 'port'>, forwarded?: ForwardedOrigin): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  if (forwarded) return `${forwarded.protocol}://${forwarded.host}`;
  const host = WILDCARD.includes(config.host) ? 'localhost' : config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}`;
}
