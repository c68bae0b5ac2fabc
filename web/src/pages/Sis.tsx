// SIS loads (sis:manage): the institution's integration profiles, each a campus feed; a profile's
// page (SisProfile.tsx) edits it, takes a file and lists its recent loads.
import { enc } from '../api';
import { Link, useLocation } from '../router';
import { useGet } from '../use-get';
import type { Profile } from './SisProfile';

const FORMATS: Record<string, string> = { alma_xml: 'Alma user XML', csv: 'CSV', jsonl: 'JSON lines' };

export function SisProfiles() {
  const { data, error } = useGet<{ integration_profile: Profile[] }>('/integration-profiles');
  const profiles = data?.integration_profile;
  // A profile page that deleted its profile comes back here saying so.
  const deleted = useLocation().search.get('deleted');
  return (
    <section>
      <div className="title-row">
        <h1>SIS loads</h1>
        <Link to="/sis/new" className="button-link">
          New integration profile
        </Link>
      </div>
      <p className="muted">Each integration profile is one campus feed: what its files hold and how their users are matched and loaded.</p>
      {deleted && (
        <p className="notice" role="status">
          Integration profile {deleted} was deleted.
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {profiles && profiles.length === 0 && <p>No integration profiles yet.</p>}
      {profiles && profiles.length > 0 && (
        <table className="data compact">
          <thead>
            <tr>
              <th scope="col">Code</th>
              <th scope="col">Name</th>
              <th scope="col">Record type</th>
              <th scope="col">Format</th>
              <th scope="col">Mode</th>
              <th scope="col">Matches on</th>
              <th scope="col">Drop folder</th>
            </tr>
          </thead>
          <tbody>
            {profiles.map((p) => (
              <tr key={p.code}>
                <td className="mono">
                  <Link to={`/sis/${enc(p.code)}`}>{p.code}</Link>
                </td>
                <td>{p.name}</td>
                <td>{p.record_type}</td>
                <td>{FORMATS[p.format] ?? p.format}</td>
                <td>{p.mode}</td>
                <td className="mono">{p.match_by}</td>
                <td className="mono ellipsis">{p.drop_folder ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
