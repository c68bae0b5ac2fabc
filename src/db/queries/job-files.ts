// SQL for job_file and job_file_chunk: files kept in the database in chunks, so uploads and
// export results stream through in constant memory and every worker can read them.
import type { Queryable, Row } from '../database.js';

export interface JobFile {
  id: string;
  institutionId: string;
  jobId: string | null;
  role: 'input' | 'result';
  name: string;
  contentType: string;
  size: number;
  sha256: string | null;
  complete: boolean;
  createdAt: Date;
}

const toFile = (r: Row): JobFile => ({
  id: r.id as string,
  institutionId: r.institution_id as string,
  jobId: (r.job_id as string | null) ?? null,
  role: r.role as JobFile['role'],
  name: r.name as string,
  contentType: r.content_type as string,
  size: Number(r.size),
  sha256: (r.sha256 as string | null) ?? null,
  complete: r.complete as boolean,
  createdAt: r.created_at as Date,
});

export async function insertFile(
  db: Queryable,
  f: { institutionId: string; jobId: string | null; role: JobFile['role']; name: string; contentType: string },
): Promise<JobFile> {
  return toFile(
    await db.one(
      'INSERT INTO job_file (institution_id, job_id, role, name, content_type) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [f.institutionId, f.jobId, f.role, f.name, f.contentType],
    ),
  );
}

export async function insertChunk(db: Queryable, fileId: string, seq: number, data: Uint8Array): Promise<void> {
  await db.query('INSERT INTO job_file_chunk (file_id, seq, data) VALUES ($1, $2, $3)', [fileId, seq, data]);
}

export async function completeFile(db: Queryable, fileId: string, size: number, sha256: string): Promise<void> {
  await db.query('UPDATE job_file SET size = $2, sha256 = $3, complete = true WHERE id = $1', [fileId, size, sha256]);
}

export async function attachFileToJob(db: Queryable, fileId: string, jobId: string): Promise<void> {
  await db.query('UPDATE job_file SET job_id = $2 WHERE id = $1', [fileId, jobId]);
}

export async function findChunk(db: Queryable, fileId: string, seq: number): Promise<Buffer | undefined> {
  const r = await db.maybeOne('SELECT data FROM job_file_chunk WHERE file_id = $1 AND seq = $2', [fileId, seq]);
  if (!r) return undefined;
  const data = r.data as Uint8Array;
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export async function findFile(db: Queryable, id: string): Promise<JobFile | undefined> {
  const r = await db.maybeOne('SELECT * FROM job_file WHERE id = $1', [id]);
  return r && toFile(r);
}

export async function findJobFile(db: Queryable, jobId: string, role: JobFile['role']): Promise<JobFile | undefined> {
  const r = await db.maybeOne('SELECT * FROM job_file WHERE job_id = $1 AND role = $2 ORDER BY created_at DESC LIMIT 1', [jobId, role]);
  return r && toFile(r);
}

export async function deleteJobFiles(db: Queryable, jobId: string, role: JobFile['role']): Promise<void> {
  await db.query('DELETE FROM job_file WHERE job_id = $1 AND role = $2', [jobId, role]);
}

/** Uploads that never became a job (a client or process that died mid-upload). */
export async function deleteAbandonedFiles(db: Queryable, olderThanHours: number): Promise<number> {
  const rows = await db.query(
    `DELETE FROM job_file WHERE (job_id IS NULL OR NOT complete) AND created_at < now() - make_interval(hours => $1) RETURNING id`,
    [olderThanHours],
  );
  return rows.length;
}

/** The input files of jobs that ended more than `days` ago (any kind of job). */
export async function deleteOldJobInputs(db: Queryable, days: number): Promise<void> {
  await db.query(
    `DELETE FROM job_file f USING job j WHERE f.job_id = j.id AND f.role = 'input'
       AND j.status IN ('succeeded', 'failed', 'cancelled') AND j.finished_at < now() - make_interval(days => $1)`,
    [days],
  );
}
