// Integration profiles and jobs as /api/v1 JSON (snake_case, as the rest of Carrel's API).
import type { JobShape } from '../../domain/jobs/job-service.js';
import type { Job } from '../../model/job.js';
import type { IntegrationProfile, ProfileInput } from '../../model/profile.js';

export function profileToJson(p: IntegrationProfile) {
  return {
    code: p.code,
    name: p.name,
    record_type: p.recordType,
    match_by: p.matchBy,
    mode: p.mode,
    format: p.format,
    csv_mapping: p.csvMapping,
    drop_folder: p.dropFolder,
    poll_seconds: p.pollSeconds,
    deactivate_missing: p.deactivateMissing,
    // With the effective value of a setting whose absence means a default the client should see.
    settings: { ...p.settings, apiKeyEditsAreManual: p.settings.apiKeyEditsAreManual !== false },
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

/** Only the fields the body names (a PATCH leaves the others as they are). */
export function profileInputOf(body: Record<string, unknown>): ProfileInput {
  const names: Record<string, keyof ProfileInput> = {
    code: 'code', name: 'name', record_type: 'recordType', match_by: 'matchBy', mode: 'mode', format: 'format',
    csv_mapping: 'csvMapping', drop_folder: 'dropFolder', poll_seconds: 'pollSeconds', deactivate_missing: 'deactivateMissing',
    settings: 'settings',
  };
  const input: ProfileInput = {};
  for (const [wire, key] of Object.entries(names)) if (body[wire] !== undefined) input[key] = body[wire];
  return input;
}

/** A job of any kind; `shape` (from the job service) names its kind's counters and whether its result is a file. */
export function jobToJson(job: Job, shape: JobShape, base = '/api/v1') {
  const p = job.payload;
  // The kind's counters, in its order, 0 until written; the first is measured against the total.
  const counters = Object.fromEntries(shape.counters.map((n) => [n, job.counters[n] ?? 0]));
  const done = counters[shape.counters[0] ?? ''] ?? 0;
  const end = job.finishedAt ?? (job.startedAt ? new Date() : null);
  const link = `${base}/jobs/${job.id}`;
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    dry_run: job.dryRun,
    // What the job works on; internal ids (the stored file's) stay out.
    file_name: (p.fileName as string | undefined) ?? null,
    sha256: (p.sha256 as string | undefined) ?? null,
    filters: job.kind === 'sis.export' ? p : undefined,
    total: job.total,
    progress: { ...counters, percent: job.total ? Math.min(100, Math.round((done / job.total) * 1000) / 10) : null },
    result: job.result,
    error: job.error,
    cancel_requested: job.cancelRequested,
    attempts: job.attempts,
    created_by: job.createdBy,
    created_at: job.createdAt.toISOString(),
    started_at: job.startedAt?.toISOString() ?? null,
    finished_at: job.finishedAt?.toISOString() ?? null,
    duration_ms: job.startedAt && end ? end.getTime() - job.startedAt.getTime() : null,
    links: {
      self: link,
      errors: `${link}/errors`,
      ...(job.dryRun ? { changes: `${link}/changes` } : {}),
      ...(shape.resultFile ? { result: `${link}/result` } : {}),
    },
  };
}
