// Trusted reverse proxies (CARREL_TRUSTED_PROXIES). Fastify believes X-Forwarded-For, -Proto and
// -Host only from these peers, so req.ip is the real client (the login throttle counts per
// client, not one count for everyone behind the proxy) and links can follow the proxy's host.
// Without the setting nothing forwarded is believed: req.ip is the peer.
import { BlockList, isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { publicBaseUrl, type ForwardedOrigin } from '../public-url.js';

// proxy-addr's names, which Express and Fastify users know.
const KEYWORDS: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

export type ProxyTrust = (address: string | undefined) => boolean;

const compiled = new WeakMap<readonly string[], ProxyTrust>();

/** Whether a peer address is one of the trusted proxies (entries checked by loadConfig). */
export function proxyTrust(entries: readonly string[]): ProxyTrust {
  const hit = compiled.get(entries);
  if (hit) return hit;
  const list = new BlockList();
  for (const entry of entries.flatMap((e) => KEYWORDS[e] ?? [e])) {
    const [address = '', prefix] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  const trust: ProxyTrust = (address) => {
    if (!address || entries.length === 0) return false;
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (v4) return list.check(v4, 'ipv4');
    const kind = isIP(address);
    return kind !== 0 && list.check(address, kind === 6 ? 'ipv6' : 'ipv4');
  };
  compiled.set(entries, trust);
  return trust;
}

/** Fastify's trustProxy option: undefined (trust no one) without trusted proxies. */
export function trustProxyOption(config: Pick<Config, 'trustedProxies'>): ((address: string, hop: number) => boolean) | undefined {
  if (!config.trustedProxies.length) return undefined;
  const trust = proxyTrust(config.trustedProxies);
  return (address) => trust(address);
}

const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The origin a trusted proxy forwarded, when this request came through one and it is well formed. */
function forwardedOrigin(config: Pick<Config, 'trustedProxies'>, req: FastifyRequest): ForwardedOrigin | undefined {
  if (!req.headers['x-forwarded-host'] || !proxyTrust(config.trustedProxies)(req.raw.socket?.remoteAddress)) return undefined;
  // With the peer trusted, Fastify reads these two from the forwarded headers.
  const protocol = req.protocol;
  const host = req.host;
  if ((protocol !== 'http' && protocol !== 'https') || !HOST.test(host)) return undefined;
  return { protocol, host };
}

/** The base of the links in an answer to this request (see public-url.ts). */
export function linkBase(config: Pick<Config, 'publicUrl' | 'host' | 'port' | 'trustedProxies'>, req: FastifyRequest): string {
  return publicBaseUrl(config, forwardedOrigin(config, req));
}
