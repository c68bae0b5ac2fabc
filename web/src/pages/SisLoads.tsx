// A profile's loads (sis:manage): upload a file as a dry run (report and diff, nothing written) or
// a real load, then follow it on its page (SisJob.tsx); and the profile's recent loads.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError, enc, upload } from '../api';
import type { Job } from '../jobs';
import { Link, navigate } from '../router';

/** The upload's content type, by the file's extension first (browsers give none for .jsonl). */
function contentTypeOf(file: File): string {
  const ext = /\.([a-z]+)$/i.exec(file.name)?.[1]?.toLowerCase() ?? '';
  const known: Record<string, string> = { zip: 'application/zip', xml: 'application/xml', csv: 'text/csv', jsonl: 'application/x-ndjson', ndjson: 'application/x-ndjson' };
  return known[ext] ?? (file.type || 'application/octet-stream');
}

export const jobLabel = (j: Job) => (j.dry_run ? 'Dry run' : 'Load');
export const statusBadge = (status: string) => <span className={`badge${status === 'succeeded' ? ' ok' : status === 'failed' ? ' off' : ''}`}>{status}</span>;

export function ProfileLoads({ code }: { code: string }) {
  const file = useRef<HTMLInputElement>(null);
  const [dryRun, setDryRun] = useState(true);
  const [deactivate, setDeactivate] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [loads, setLoads] = useState<Job[] | null>(null);
  const [listError, setListError] = useState('');

  useEffect(() => {
    api<{ job: Job[] }>('GET', `/integration-profiles/${enc(code)}/imports?limit=20`)
      .then(({ body }) => setLoads(body.job))
      .catch((e) => setListError(e instanceof ApiError ? e.message : 'Carrel could not be reached.'));
  }, [code]);

  const start = async (e: FormEvent) => {
    e.preventDefault();
    const chosen = file.current?.files?.[0];
    if (!chosen) return setError('Choose the file to load.');
    setBusy(true);
    setError('');
    try {
      const query = new URLSearchParams({ file_name: chosen.name.slice(0, 200), ...(dryRun ? { dry_run: 'true' } : {}), ...(deactivate ? { deactivate_missing: 'true' } : {}) });
      const { body } = await upload<Job>(`/integration-profiles/${enc(code)}/imports?${query}`, chosen, contentTypeOf(chosen));
      navigate(`/sis/${enc(code)}/loads/${enc(body.id)}`);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'Carrel could not be reached.');
      setBusy(false);
    }
  };

  return (
    <>
      <h2 id="load-heading">Load a file</h2>
      <form onSubmit={(e) => void start(e)} noValidate className="form" aria-labelledby="load-heading">
        <div className={`field${error ? ' has-error' : ''}`}>
          <label htmlFor="sis_file">SIS file</label>
          <input id="sis_file" type="file" ref={file} accept=".xml,.zip,.csv,.jsonl,.ndjson" aria-invalid={error ? true : undefined}
            aria-describedby={`sis_file-help${error ? ' sis_file-error' : ''}`} onChange={() => setError('')} />
          <p className="help" id="sis_file-help">
            In the profile's format: Alma user XML (zipped or not), CSV or JSON lines.
          </p>
          {error && (
            <p className="field-error" id="sis_file-error" role="alert">
              {error}
            </p>
          )}
        </div>
        <fieldset>
          <legend>What to do</legend>
          <label className="check">
            <input type="radio" name="run" checked={dryRun} onChange={() => setDryRun(true)} /> Dry run: count and show the changes, write nothing
          </label>
          <label className="check">
            <input type="radio" name="run" checked={!dryRun} onChange={() => setDryRun(false)} /> Load: create and update the users
          </label>
          <label className="check">
            <input type="checkbox" checked={deactivate} onChange={(e) => setDeactivate(e.target.checked)} /> This is a full file: deactivate the profile's users it does not name
          </label>
        </fieldset>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Uploading…' : dryRun ? 'Start dry run' : 'Start load'}
        </button>
      </form>

      <h2 id="recent-heading">Recent loads</h2>
      {listError && (
        <p className="error" role="alert">
          {listError}
        </p>
      )}
      {loads && loads.length === 0 && <p>No loads yet.</p>}
      {loads && loads.length > 0 && (
        <table className="data compact" aria-labelledby="recent-heading">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">File</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Updated</th>
              <th scope="col">Failed</th>
            </tr>
          </thead>
          <tbody>
            {loads.map((j) => (
              <tr key={j.id}>
                <td className="nowrap">
                  <Link to={`/sis/${enc(code)}/loads/${enc(j.id)}`}>{new Date(j.created_at).toLocaleString()}</Link>
                </td>
                <td className="mono ellipsis">{j.file_name ?? '—'}</td>
                <td>{jobLabel(j)}</td>
                <td>{statusBadge(j.status)}</td>
                <td>{j.progress.created ?? 0}</td>
                <td>{j.progress.updated ?? 0}</td>
                <td>{j.progress.failed ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
