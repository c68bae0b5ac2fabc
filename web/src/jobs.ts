// A job as the console reads it (GET /api/v1/jobs/{id}) and the one way a page follows one:
// polled until it ends, each answer shown.
import { useEffect, useState } from 'react';
import { api, enc } from './api';

export interface Job {
  id: string;
  kind: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  dry_run: boolean;
  file_name: string | null;
  total: number | null;
  /** The kind's counters, then percent (null until the total is known). */
  progress: Record<string, number | null>;
  result: Record<string, unknown> | null;
  error: string | null;
  cancel_requested: boolean;
  created_by: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const FINISHED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);
export const isFinished = (job: Job) => FINISHED.has(job.status);

/** Polls a job every `everyMs` until it ends; the setter shows an answer the page got otherwise (a cancel's). */
export function useJob(id: string | null, everyMs = 1000): [Job | null, (j: Job) => void, string] {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    if (!id) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const { body } = await api<Job>('GET', `/jobs/${enc(id)}`);
        if (stop) return;
        setJob(body);
        setError('');
        if (isFinished(body)) return;
      } catch (e) {
        // A missed poll: said, and tried again (a job that is not there stays not there).
        if (stop) return;
        setError(e instanceof Error ? e.message : String(e));
      }
      if (!stop) timer = setTimeout(() => void tick(), everyMs);
    };
    void tick();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [id, everyMs]);
  return [job, setJob, error];
}
