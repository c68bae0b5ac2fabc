// The named-user page's daily history (GET /api/v1/named-users/history): a table, the record, and
// above it a small inline SVG of the same numbers (no chart library: a few rectangles) whose text
// alternative says what it shows. "Take today's snapshot" is POST /api/v1/named-users/history.
import { useState } from 'react';
import { api, errorText as message } from '../api';
import { useGet } from '../use-get';
import type { Report } from './NamedUsers';

interface Day {
  day: string;
  count: number | null;
  network_count: number | null;
}

const SPANS = [30, 90, 365] as const;
const CHART_HEIGHT = 120;
const BAR = 10;
/** Fewer days than this keep their bars' width, at the right (newest) end. */
const MIN_SLOTS = 30;

export function NamedUserHistory({ report, onSnapshot }: { report: Report | null; onSnapshot: () => void }) {
  const [days, setDays] = useState<number>(90);
  const history = useGet<{ days: Day[] }>(`/named-users/history?days=${days}`);
  const rows = history.data?.days;
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);

  const snapshot = async () => {
    setBusy(true);
    setError('');
    setNotice('');
    try {
      const { body } = await api<{ day: string; count: number }>('POST', '/named-users/history', { body: {} });
      setNotice(`Snapshot taken for ${body.day}: ${body.count} named users at this institution.`);
      await history.reload();
      onSnapshot();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const network = report?.network ?? null;
  return (
    <section aria-labelledby="history-h">
      <h2 id="history-h">Daily history</h2>
      <div className="filters">
        <div className="field inline">
          <label htmlFor="nu-days">Period</label>
          <select id="nu-days" value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {SPANS.map((d) => (
              <option key={d} value={d}>
                Last {d} days
              </option>
            ))}
          </select>
        </div>
        <button type="button" onClick={() => void snapshot()} disabled={busy}>
          {busy ? 'Taking…' : "Take today's snapshot"}
        </button>
      </div>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {(error || history.error) && (
        <p className="error" role="alert">
          {error || history.error}
        </p>
      )}
      {rows && rows.length === 0 && <p className="muted">No snapshot in this period yet. One is taken each day; take today's now with the button.</p>}
      {rows && rows.length > 0 && (
        <>
          <Chart rows={rows} inNetwork={network !== null} licence={network?.licence ?? null} />
          <table className="data compact narrow" data-testid="history">
            <caption className="sr-only">Named users per day, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col" className="num">
                  This institution
                </th>
                {network && (
                  <th scope="col" className="num">
                    Network
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.day}>
                  <td className="nowrap">{r.day}</td>
                  <td className="num">{r.count ?? '—'}</td>
                  {network && <td className="num">{r.network_count ?? '—'}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** Oldest to newest, left to right: the network's count in a network (the licence's), else the institution's. */
function Chart({ rows, inNetwork, licence }: { rows: Day[]; inNetwork: boolean; licence: number | null }) {
  const points = [...rows].reverse().map((r) => ({ day: r.day, value: (inNetwork ? r.network_count : r.count) ?? 0 }));
  const top = Math.max(1, licence ?? 0, ...points.map((p) => p.value));
  const slots = Math.max(points.length, MIN_SLOTS);
  const width = slots * BAR;
  const y = (v: number) => CHART_HEIGHT - (v / top) * CHART_HEIGHT;
  const what = inNetwork ? 'Named users in the network' : 'Named users at this institution';
  const last = points.at(-1)!;
  const peak = points.reduce((a, b) => (b.value > a.value ? b : a));
  const summary =
    `${what}, ${points.length} day${points.length === 1 ? '' : 's'} from ${points[0]!.day} to ${last.day}: ${last.value} on the last day, ` +
    `highest ${peak.value} on ${peak.day}${licence === null ? '' : `; the licence is ${licence}`}. The table below has every day.`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${CHART_HEIGHT}`} preserveAspectRatio="none" role="img" aria-labelledby="history-chart-desc" focusable="false">
        {points.map((p, i) => (
          <rect key={p.day} x={(slots - points.length + i) * BAR + 1} width={BAR - 2} y={y(p.value)} height={CHART_HEIGHT - y(p.value)} className="bar" />
        ))}
        {licence !== null && <line x1={0} x2={width} y1={y(licence)} y2={y(licence)} className="licence" vectorEffect="non-scaling-stroke" />}
      </svg>
      <figcaption id="history-chart-desc" data-testid="history-summary">
        {summary}
        {licence !== null && ' The dashed line is the licence.'}
      </figcaption>
    </figure>
  );
}
