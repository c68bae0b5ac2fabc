// A user's history: audit events about the user, newest first (GET /api/v1/users/{id}/history).
import { enc } from '../api';
import { useGet } from '../use-get';

interface Event {
  id: number;
  occurred_at: string;
  action: string;
  actor: { type: string; label: string };
  changes: Record<string, { before: unknown; after: unknown }>;
  context: Record<string, unknown>;
}

/** A value of a change, short: a long segment list is cut (the whole is in the API's answer). */
const show = (v: unknown): string => {
  const s = v === null || v === undefined || v === '' ? '—' : typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
};

export function HistoryTab({ primaryId }: { primaryId: string }) {
  const { data, error } = useGet<{ event: Event[] }>(`/users/${enc(primaryId)}/history`);
  const events = data?.event;
  if (error) return <p role="alert">{error}</p>;
  if (!events) return <p role="status">Loading…</p>;
  if (!events.length) return <p className="muted">No recorded events.</p>;
  return (
    <table className="data compact history">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">What</th>
          <th scope="col">Who</th>
          <th scope="col">Changes</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={e.id}>
            <td className="nowrap">{new Date(e.occurred_at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}</td>
            <td className="mono">{e.action}</td>
            <td className="nowrap">{e.actor.label}</td>
            <td>
              {Object.keys(e.changes).length === 0 ? (
                '—'
              ) : (
                <ul className="changes">
                  {Object.entries(e.changes).map(([field, c]) => (
                    <li key={field}>
                      <span className="mono">{field}</span>: {c.before === null || c.before === undefined ? show(c.after) : `${show(c.before)} → ${show(c.after)}`}
                    </li>
                  ))}
                </ul>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
