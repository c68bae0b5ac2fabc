// Find users: search as you type (Alma's brief search, q=ALL~text: names, any identifier,
// e-mail), exact filters, a sortable, paginated table. Unless a column is chosen, the list is in
// best-match order (Carrel's order_by=relevance): last names that begin with the text first, and
// a total counted up to 1,000; a page of those is a short walk of the name index, where a name
// order over 30,000 matches of "smi" reads them all (issue 10, bench/README.md). A barcode
// scanner types a card number and Enter: a single word entered is first looked up as an exact
// identifier and opens its user.
// The search lives in the address (?q=&status=…), so Back and a shared link give the same list.
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { api, ApiError, enc } from '../api';
import { codeText, day, nameOf, type AlmaUser, type UserList } from '../alma';
import { Link, navigate, useLocation } from '../router';

const PAGE_SIZE = 20;
// Issue 10: the first page within 300 ms of the last keystroke on a million users. The search
// itself takes 30 to 60 ms there (bench/README.md); a shorter pause costs at most a request per
// key for a slow typist, and the page aborts the one it no longer needs.
const DEBOUNCE_MS = 150;

const FILTERS = [
  { key: 'record_type', label: 'Record type', options: ['PUBLIC', 'STAFF', 'CONTACT'] },
  { key: 'account_type', label: 'Account type', options: ['INTERNAL', 'EXTERNAL'] },
  { key: 'status', label: 'Status', options: ['ACTIVE', 'INACTIVE'] },
] as const;

const SORTS = { last_name: 'Name', primary_id: 'Primary ID' } as const;
const BEST_MATCH = 'relevance';
type Sort = keyof typeof SORTS | 'first_name' | typeof BEST_MATCH;

export function FindUsers() {
  const { search } = useLocation();
  const [text, setText] = useState(search.get('q') ?? '');
  const [list, setList] = useState<UserList | null>(null);
  // The search the shown list answers (data-q on the table: bench/console-search.ts times it).
  const [listQ, setListQ] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const table = useRef<HTMLTableSectionElement>(null);

  const q = search.get('q') ?? '';
  const order = (search.get('order_by') ?? BEST_MATCH) as Sort;
  const offset = Math.max(0, Number(search.get('offset') ?? 0) || 0);
  const filterValues = Object.fromEntries([...FILTERS.map((f) => f.key), 'user_group'].map((k) => [k, search.get(k) ?? '']));

  const setParams = (changes: Record<string, string>, opts: { replace?: boolean } = {}) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!('offset' in changes)) next.delete('offset');
    const s = next.toString();
    navigate(`/users${s ? `?${s}` : ''}`, opts);
  };

  // Typing: the address (and so the search) follows after a pause.
  const pushed = useRef(q);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    if (text.trim() === q) return;
    const t = setTimeout(() => {
      pushed.current = text.trim();
      setParams({ q: pushed.current }, { replace: true });
    }, DEBOUNCE_MS);
    pending.current = t;
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text]);

  // The address changed by other means (Back, the menu's link): the box shows its search.
  useEffect(() => {
    if (q !== pushed.current) {
      pushed.current = q;
      setText(q);
    }
  }, [q]);

  const key = search.toString();
  useEffect(() => {
    const ctl = new AbortController();
    const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset), order_by: order });
    if (q) params.set('q', `ALL~${q}`);
    for (const [k, v] of Object.entries(filterValues)) if (v) params.set(k, v);
    setBusy(true);
    api<UserList>('GET', `/users?${params}`, { signal: ctl.signal })
      .then(({ body }) => {
        setList(body);
        setListQ(q);
        setError(null);
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted) return;
        setError(e instanceof ApiError ? e.message : 'The search failed. Try again.');
      })
      .finally(() => !ctl.signal.aborted && setBusy(false));
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  // Enter on one word: an exact identifier (a scanned card, a typed barcode or primary id) opens
  // its user, whatever the speed of the keys; Bluetooth scanners and busy browsers make typing
  // speed a poor sign of a scan. Anything else is a search; Enter on a list of one opens that one.
  const enter = async (value: string) => {
    // Enter decides: the search the last keys scheduled would only race the lookup.
    clearTimeout(pending.current);
    if (!/\s/.test(value)) {
      try {
        const { body } = await api<AlmaUser>('GET', `/users/${enc(value)}`);
        return navigate(`/users/${enc(body.primary_id)}`);
      } catch (e) {
        if (!(e instanceof ApiError) || e.code !== '401861') return setNotice('The lookup failed. Try again.');
        // A card number that is no one's: say so (names are searched without a word about it).
        if (/\d/.test(value)) setNotice(`No user has the identifier ${value}.`);
      }
    }
    if (list?.user?.length === 1 && listQ === value) navigate(`/users/${enc(list.user[0]!.primary_id)}`);
    else setParams({ q: value });
  };

  const focusRow = (i: number) => {
    const links = table.current?.querySelectorAll<HTMLAnchorElement>('a.row-link');
    if (!links?.length) return;
    links[Math.max(0, Math.min(i, links.length - 1))]!.focus();
  };

  const onSearchKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      focusRow(0);
    }
    if (e.key !== 'Enter') return;
    e.preventDefault();
    const value = e.currentTarget.value.trim();
    if (value) void enter(value);
  };

  const onTableKey = (e: KeyboardEvent<HTMLTableSectionElement>) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const links = [...(table.current?.querySelectorAll<HTMLAnchorElement>('a.row-link') ?? [])];
    const at = links.indexOf(document.activeElement as HTMLAnchorElement);
    if (at < 0) return;
    e.preventDefault();
    if (e.key === 'ArrowUp' && at === 0) document.getElementById('user-search')?.focus();
    else focusRow(at + (e.key === 'ArrowDown' ? 1 : -1));
  };

  const total = list?.total_record_count ?? 0;
  // A total counted up to a limit: "more than" it, and pages until one comes back short.
  const more = list?.total_record_count_exact === false;
  const rows = list?.user ?? [];
  const sortBy = (o: Sort) => setParams({ order_by: o === BEST_MATCH ? '' : o });
  return (
    <section>
      <h1>Find users</h1>
      <div className="search-bar" role="search">
        <label htmlFor="user-search">Search</label>
        <input
          id="user-search"
          type="search"
          value={text}
          autoFocus
          autoComplete="off"
          spellCheck={false}
          placeholder="Name, barcode or any identifier, e-mail"
          aria-describedby="search-help"
          onChange={(e) => {
            setText(e.target.value);
            setNotice(null);
          }}
          onKeyDown={onSearchKey}
        />
        <p id="search-help" className="help">
          Scan a card to open its user. ↓ moves to the results.
        </p>
      </div>
      <div className="filters">
        {FILTERS.map((f) => (
          <div className="field inline" key={f.key}>
            <label htmlFor={`f-${f.key}`}>{f.label}</label>
            <select id={`f-${f.key}`} value={filterValues[f.key]} onChange={(e) => setParams({ [f.key]: e.target.value })}>
              <option value="">Any</option>
              {f.options.map((o) => (
                <option key={o} value={o}>
                  {o.charAt(0) + o.slice(1).toLowerCase()}
                </option>
              ))}
            </select>
          </div>
        ))}
        <div className="field inline">
          <label htmlFor="f-user_group">User group</label>
          <input
            id="f-user_group"
            defaultValue={filterValues.user_group}
            size={12}
            placeholder="Code"
            onKeyDown={(e) => e.key === 'Enter' && setParams({ user_group: e.currentTarget.value.trim() })}
            onBlur={(e) => e.currentTarget.value.trim() !== filterValues.user_group && setParams({ user_group: e.currentTarget.value.trim() })}
          />
        </div>
      </div>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <p className="count" role="status" aria-live="polite">
        {busy && !list ? 'Searching…' : total === 0 ? 'No users found.' : `${offset + 1}–${offset + rows.length} of ${more ? 'more than ' : ''}${total.toLocaleString('en')} users`}
      </p>
      {order !== BEST_MATCH && (
        <button type="button" className="plain-link" onClick={() => sortBy(BEST_MATCH)}>
          Best matches first
        </button>
      )}
      <table className="data" aria-busy={busy} data-q={listQ ?? undefined}>
        <thead>
          <tr>
            <SortHeader field="last_name" order={order} onSort={sortBy} />
            <SortHeader field="primary_id" order={order} onSort={sortBy} />
            <th scope="col">User group</th>
            <th scope="col">Record type</th>
            <th scope="col">Account</th>
            <th scope="col">Status</th>
            <th scope="col">Expires</th>
          </tr>
        </thead>
        <tbody ref={table} onKeyDown={onTableKey}>
          {rows.map((u) => (
            <tr key={u.primary_id}>
              <td>
                <Link className="row-link" to={`/users/${enc(u.primary_id)}`}>
                  {nameOf(u)}
                </Link>
              </td>
              <td className="mono">{u.primary_id}</td>
              <td>{codeText(u.user_group)}</td>
              <td>{u.record_type?.value}</td>
              <td>{u.account_type?.value}</td>
              <td>
                <span className={`badge ${u.status?.value === 'ACTIVE' ? 'ok' : 'off'}`}>{u.status?.value === 'ACTIVE' ? 'Active' : 'Inactive'}</span>
              </td>
              <td>{day(u.expiry_date)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {(total > PAGE_SIZE || more) && (
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={offset === 0} onClick={() => setParams({ offset: String(Math.max(0, offset - PAGE_SIZE)) })}>
            Previous
          </button>
          <span>
            Page {Math.floor(offset / PAGE_SIZE) + 1} of {more ? 'more than ' : ''}
            {Math.ceil(total / PAGE_SIZE)}
          </span>
          <button type="button" disabled={more ? rows.length < PAGE_SIZE : offset + PAGE_SIZE >= total} onClick={() => setParams({ offset: String(offset + PAGE_SIZE) })}>
            Next
          </button>
        </nav>
      )}
    </section>
  );
}

function SortHeader({ field, order, onSort }: { field: keyof typeof SORTS; order: Sort; onSort: (o: Sort) => void }) {
  const active = order === field;
  return (
    <th scope="col" aria-sort={active ? 'ascending' : 'none'}>
      <button type="button" className="sort" onClick={() => onSort(field)}>
        {SORTS[field]}
        <span aria-hidden="true">{active ? ' ▲' : ''}</span>
      </button>
    </th>
  );
}
