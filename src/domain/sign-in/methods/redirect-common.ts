// What OIDC and the OAuth 2 social methods share: the URL rule for counterparts (https, or http
// on this machine for tests), the callback checks every redirect protocol makes before it talks
// to the counterpart (IdP error, state), and the single-use key of an authorization code.
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../../errors.js';
import type { Callback, MethodContext, Refusal } from '../method.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An http URL is allowed only for a counterpart on this machine (the tests' own IdP). */
export function isLoopback(url: URL): boolean {
  return LOOPBACK.has(url.hostname);
}

/** Refuses (at create) a URL that is not https, unless it is http on loopback. */
export function checkUrl(key: string, value: string | undefined): void {
  if (value === undefined) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppError('LOGIN_METHOD_INVALID', { reason: `${key} is not a URL` });
  }
  const ok = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url));
  if (!ok || url.username || url.password) {
    throw new AppError('LOGIN_METHOD_INVALID', { reason: `${key} must be an https URL (http only for localhost)` });
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Before any network call: the counterpart's own error (the person said no, or the IdP failed),
 * and the state that binds this answer to the flow this browser started.
 */
export function precheck(callback: Callback, flow: Record<string, string>): Refusal | undefined {
  const q = callback.query;
  if (q.error) {
    return { refused: 'idp_error', detail: `${q.error.slice(0, 64)}${q.error_description ? `: ${q.error_description.slice(0, 200)}` : ''}` };
  }
  if (!q.state || !flow.state || !sameText(q.state, flow.state)) return { refused: 'state', detail: 'state does not match the flow' };
  if (!q.code) return { refused: 'invalid_response', detail: 'no code in the callback' };
  return undefined;
}

/** Codes live minutes at most; remembered for an hour so a replay is always seen. */
const CODE_MEMORY_MS = 60 * 60 * 1000;

/** True the first time this code is offered for this method, on any server of the deployment. */
export async function codeFirstUse(ctx: MethodContext<unknown>, code: string): Promise<boolean> {
  const digest = createHash('sha256').update(code).digest('base64url');
  return ctx.firstUse(`code:${ctx.method.id}:${digest}`, new Date(ctx.clock().getTime() + CODE_MEMORY_MS));
}

/** A failed call to the counterpart: unreachable (network, 5xx) or an answer we cannot use. */
export function unreachable(err: unknown): Refusal {
  return { refused: 'unavailable', detail: err instanceof Error ? err.message.slice(0, 200) : 'unreachable' };
}
