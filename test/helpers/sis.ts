// Helpers for SIS tests: profiles and uploads through /api/v1, running the queue in-process, and
// reading jobs, reports and users back.
import type { FastifyInstance } from 'fastify';
import type { App } from '../../src/app.js';
import type { Actor } from '../../src/domain/access/actor.js';
import { createWorker } from '../../src/domain/jobs/worker.js';

export function api(server: FastifyInstance, key: string) {
  const headers = { authorization: `apikey ${key}`, accept: 'application/json' };
  const json = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) => {
    const res = await server.inject({
      method,
      url: `/api/v1${url}`,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: res.body ? (String(res.headers['content-type'] ?? '').includes('json') ? res.json() : res.body) : null, headers: res.headers };
  };
  return {
    json,
    createProfile: (p: Record<string, unknown>) => json('POST', '/integration-profiles', p),
    /** POST the raw file; returns the job JSON (202) or the error. */
    async upload(profile: string, file: Buffer | string, contentType: string, query = '') {
      const res = await server.inject({
        method: 'POST',
        url: `/api/v1/integration-profiles/${profile}/imports${query ? `?${query}` : ''}`,
        headers: { ...headers, 'content-type': contentType },
        payload: file,
      });
      return { status: res.statusCode, body: res.json() };
    },
    job: async (id: string) => (await json('GET', `/jobs/${id}`)).body,
    async errorsCsv(id: string): Promise<string[][]> {
      const res = await server.inject({ method: 'GET', url: `/api/v1/jobs/${id}/errors`, headers });
      return res.body.trim().split('\n').map((l) => parseCsvLine(l));
    },
    almaUser: async (id: string) => {
      const res = await server.inject({ method: 'GET', url: `/almaws/v1/users/${encodeURIComponent(id)}?format=json`, headers });
      return res.statusCode === 200 ? res.json() : undefined;
    },
  };
}

/** Enough CSV for the report (quoted fields with commas). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') out.push(cur), (cur = '');
    else cur += c;
  }
  out.push(cur);
  return out;
}

/** Runs every queued job in this process, as the worker of `carrel serve` would. */
export async function runQueue(app: App): Promise<void> {
  const worker = createWorker({ db: app.db, kinds: app.jobKinds, pollMs: 10 });
  while (await worker.runOnce());
}

/** A signed-in User Administrator of the institution: the staff console's actor. */
export function staffActor(institutionId: string): Actor {
  return { kind: 'staff', userId: '00000000-0000-0000-0000-000000000001', institutionId, primaryId: 'librarian', roles: [{ roleType: '50', scope: 'x' }], sessionId: 's' };
}

export async function countUsers(app: App, institutionId: string): Promise<number> {
  return (await app.db.one<{ n: number }>('SELECT count(*)::int AS n FROM app_user WHERE institution_id = $1', [institutionId])).n;
}

export async function auditCount(app: App, jobId: string): Promise<{ n: number; labels: string[] }> {
  const rows = await app.db.query<{ actor_label: string; n: number }>(
    `SELECT actor_label, count(*)::int AS n FROM audit_event WHERE context->>'jobId' = $1 GROUP BY actor_label`,
    [jobId],
  );
  return { n: rows.reduce((a, r) => a + r.n, 0), labels: rows.map((r) => r.actor_label) };
}
