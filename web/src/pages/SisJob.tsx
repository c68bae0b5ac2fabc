// One SIS load (sis:manage), followed live: its status and counters polled every second while it
// runs, a progress bar, cancelling, the report of the records it failed or skipped (CSV), and for
// a dry run the changes it would make, field by field, a page at a time.
import { useEffect, useState } from 'react';
import { api, ApiError, enc } from '../api';
import { isFinished, useJob } from '../jobs';
import { Link } from '../router';
import { jobLabel, statusBadge } from './SisLoads';

const COUNTERS = [
  ['read', 'Read'],
  ['created', 'Created'],
  ['updated', 'Updated'],
  ['unchanged', 'Unchanged'],
  ['skipped', 'Skipped'],
  ['failed', 'Failed'],
] as const;

export function SisJob({ code, id }: { code: string; id: string }) {
  const [job, setJob, pollError] = useJob(id);
  const [error, setError] = useState('');
  const cancel = async () => {
    setError('');
    try {
      setJob((await api<NonNullable<typeof job>>('POST', `/jobs/${enc(id)}/cancel`)).body);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Carrel could not be reached.');
    }
  };
  const read = job?.progress.read ?? 0;
  const percent = job?.progress.percent;
  const notDone = job ? (job.progress.failed ?? 0) + (job.progress.skipped ?? 0) : 0;
  const title = job ? `${jobLabel(job)} of ${job.file_name ?? 'a file'}` : 'Load';
  const result = job?.result ?? {};

  return (
    <section>
      <p className="crumbs">
        <Link to="/sis">SIS loads</Link> / <Link to={`/sis/${enc(code)}`}>{code}</Link> /
      </p>
      <h1>{title}</h1>
      {(error || (!job && pollError)) && (
        <p className="error" role="alert">
          {error || pollError}
        </p>
      )}
      {job && (
        <>
          {job.dry_run && <p className="notice">A dry run: the counts and changes say what a load of this file would do. Nothing was written.</p>}
          <p role="status">
            {statusBadge(job.status)} {job.cancel_requested && !isFinished(job) ? 'Cancelling at the next batch… ' : ''}
            {read} of {job.total ?? '…'} records read{percent != null ? ` (${percent}%)` : ''}
          </p>
          <progress className="progress" aria-label={`${title}: progress`} max={job.total ?? 1} value={job.total ? read : undefined} />
          <table className="data compact counts">
            <caption className="sr-only">Records</caption>
            <thead>
              <tr>
                {COUNTERS.map(([k, label]) => (
                  <th scope="col" key={k}>
                    {label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              <tr>
                {COUNTERS.map(([k]) => (
                  <td key={k} data-counter={k}>
                    {job.progress[k] ?? 0}
                  </td>
                ))}
              </tr>
            </tbody>
          </table>
          {job.error && (
            <p className="error" role="alert">
              {job.status === 'failed' ? 'The load failed: ' : ''}
              {job.error}
            </p>
          )}
          {typeof result.deactivated === 'number' && <p>Deactivated {result.deactivated} user(s) the file no longer names.</p>}
          {typeof result.deactivateRefused === 'string' && <p className="error">{result.deactivateRefused}</p>}
          <div className="row actions">
            {!isFinished(job) && (
              <button type="button" onClick={() => void cancel()} disabled={job.cancel_requested}>
                Cancel {jobLabel(job).toLowerCase()}
              </button>
            )}
            {notDone > 0 && (
              <a href={`/api/v1/jobs/${enc(job.id)}/errors`} download={`job-${job.id}-errors.csv`}>
                Download the error report (CSV, {notDone} record{notDone === 1 ? '' : 's'})
              </a>
            )}
          </div>
          {job.dry_run && job.status === 'succeeded' && <Changes id={job.id} />}
        </>
      )}
    </section>
  );
}

interface Change {
  record_number: number;
  action: 'create' | 'update' | 'deactivate';
  identifier: string | null;
  changes: Record<string, { before: unknown; after: unknown }>;
}

const PAGE = 10;
const shown = (v: unknown) => (v === null || v === undefined || v === '' ? <span className="muted">—</span> : typeof v === 'string' ? v : JSON.stringify(v));

/** A dry run's changes: one row per field, the record's number, identifier and action on its first. */
function Changes({ id }: { id: string }) {
  // The "after" of each page seen, so Previous goes back without the server keeping a cursor.
  const [afters, setAfters] = useState<number[]>([0]);
  const [page, setPage] = useState<{ change: Change[]; next_after: number | null } | null>(null);
  const [error, setError] = useState('');
  const after = afters.at(-1)!;
  useEffect(() => {
    api<{ change: Change[]; next_after: number | null }>('GET', `/jobs/${enc(id)}/changes?after=${after}&limit=${PAGE}`)
      .then(({ body }) => setPage(body))
      .catch((e) => setError(e instanceof ApiError ? e.message : 'Carrel could not be reached.'));
  }, [id, after]);
  const more = page !== null && page.change.length === PAGE && page.next_after !== null;
  return (
    <>
      <h2 id="changes-heading">Changes</h2>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {page && page.change.length === 0 && afters.length === 1 && <p>No user would change.</p>}
      {page && page.change.length > 0 && (
        <table className="data compact" aria-labelledby="changes-heading">
          <thead>
            <tr>
              <th scope="col">Record</th>
              <th scope="col">Identifier</th>
              <th scope="col">Action</th>
              <th scope="col">Field</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {page.change.flatMap((c) => {
              const fields = Object.entries(c.changes);
              const rows = fields.length ? fields : [['', { before: null, after: null }] as const];
              return rows.map(([field, v], i) => (
                <tr key={`${c.record_number}-${field}`}>
                  {i === 0 && (
                    <>
                      <td rowSpan={rows.length}>{c.record_number}</td>
                      <td rowSpan={rows.length} className="mono">
                        {c.identifier ?? '—'}
                      </td>
                      <td rowSpan={rows.length}>{c.action}</td>
                    </>
                  )}
                  <td className="mono">{field || '—'}</td>
                  <td className="diff">{shown(v.before)}</td>
                  <td className="diff">{shown(v.after)}</td>
                </tr>
              ));
            })}
          </tbody>
        </table>
      )}
      {(afters.length > 1 || more) && (
        <div className="pager">
          <button type="button" disabled={afters.length === 1} onClick={() => setAfters((a) => a.slice(0, -1))}>
            Previous
          </button>
          <button type="button" disabled={!more} onClick={() => page?.next_after != null && setAfters((a) => [...a, page.next_after!])}>
            Next
          </button>
        </div>
      )}
    </>
  );
}
