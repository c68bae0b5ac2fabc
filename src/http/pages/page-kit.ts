// What every /auth page shares: the page headers (no caching, no framing, a strict CSP), the CSRF
// field, the institution's base path.
import type { FastifyReply } from 'fastify';
import type { Institution } from '../../model/institution.js';
import { secureCookies } from '../session-cookie.js';
import { html, page, type Html } from './html.js';

export function authBase(i: Pick<Institution, 'code'>): string {
  return `/auth/${encodeURIComponent(i.code)}`;
}

export function showPage(reply: FastifyReply, i: Institution, title: string, body: Html, status = 200) {
  return reply
    .status(status)
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
    .header('x-frame-options', 'DENY')
    .type('text/html; charset=utf-8')
    .send(page({ title, institutionName: i.name, body }));
}

export function csrfField(reply: FastifyReply): Html {
  const token = reply.generateCsrf({ secure: secureCookies(reply.request) });
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}
