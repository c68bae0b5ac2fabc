// The record's sections on a user's page. Each shows the record, or edits the draft when given
// `update`; a refused save's messages appear at their field (errors, from field-errors.ts).
import type { ReactNode } from 'react';
import { codeText, day, type AlmaUser, type Code } from '../alma';
import { Field, SectionError } from '../form';
import type { Update } from './UserPage';

interface Props {
  user: AlmaUser;
  update: Update | null;
  errors: Record<string, string>;
}

const code = (value: string): Code => ({ value });
/** A date input's value as Alma's date (2027-08-31Z), or null when cleared. */
const almaDate = (v: string) => (v ? `${v}Z` : null);

export function GeneralSection({ user, update, errors }: Props) {
  const text = (key: 'first_name' | 'middle_name' | 'last_name' | 'job_description') => (v: string) => update?.((d) => void (d[key] = v));
  const codeField = (key: 'user_group' | 'campus_code' | 'job_category' | 'preferred_language') => (v: string) =>
    update?.((d) => void (d[key] = v ? code(v) : null));
  const dateField = (key: 'expiry_date' | 'purge_date' | 'birth_date') => (v: string) => update?.((d) => void (d[key] = almaDate(v)));
  const on = <T,>(f: T) => (update ? f : undefined);
  return (
    <div className="grid">
      <Field id="first_name" label="First name" value={user.first_name ?? ''} onChange={on(text('first_name'))} error={errors.first_name} />
      <Field id="middle_name" label="Middle name" value={user.middle_name ?? ''} onChange={on(text('middle_name'))} error={errors.middle_name} />
      <Field id="last_name" label="Last name" value={user.last_name ?? ''} onChange={on(text('last_name'))} error={errors.last_name} required />
      <Field id="primary_id" label="Primary ID" value={user.primary_id} error={errors.primary_id} />
      <Field
        id="user_group"
        label="User group"
        value={update ? (user.user_group?.value ?? '') : codeText(user.user_group)}
        onChange={on(codeField('user_group'))}
        error={errors.user_group}
        help={update ? 'A code of the institution’s user groups' : undefined}
      />
      <Field id="campus_code" label="Campus" value={update ? (user.campus_code?.value ?? '') : codeText(user.campus_code)} onChange={on(codeField('campus_code'))} error={errors.campus_code} />
      <Field id="job_category" label="Job category" value={update ? (user.job_category?.value ?? '') : codeText(user.job_category)} onChange={on(codeField('job_category'))} error={errors.job_category} />
      <Field id="job_description" label="Job description" value={user.job_description ?? ''} onChange={on(text('job_description'))} />
      <Field
        id="status"
        label="Status"
        value={user.status.value}
        onChange={on((v: string) => update?.((d) => void (d.status = code(v))))}
        options={['ACTIVE', 'INACTIVE']}
        error={errors.status}
      />
      <Field id="record_type" label="Record type" value={codeText(user.record_type)} error={errors.record_type} />
      <Field id="account_type" label="Account type" value={codeText(user.account_type)} error={errors.account_type} help={update ? 'Changed on the Sign-in tab' : undefined} />
      <Field id="external_id" label="External ID" value={user.external_id ?? ''} error={errors.external_id} />
      <Field id="expiry_date" label="Expiry date" type="date" value={day(user.expiry_date)} onChange={on(dateField('expiry_date'))} error={errors.expiry_date} />
      <Field id="purge_date" label="Purge date" type="date" value={day(user.purge_date)} onChange={on(dateField('purge_date'))} error={errors.purge_date} />
      <Field id="birth_date" label="Birth date" type="date" value={day(user.birth_date)} onChange={on(dateField('birth_date'))} error={errors.birth_date} />
      <Field id="preferred_language" label="Preferred language" value={update ? (user.preferred_language?.value ?? '') : codeText(user.preferred_language)} onChange={on(codeField('preferred_language'))} error={errors.preferred_language} />
    </div>
  );
}

/** A table of a segment list, with add and remove when editing. */
function Segments<T>(props: {
  title: string;
  items: T[];
  columns: string[];
  row: (item: T, i: number) => ReactNode[];
  update: Update | null;
  onAdd?: () => void;
  onRemove?: (i: number) => void;
  addLabel?: string;
  error?: string | undefined;
  empty: string;
}) {
  const editing = props.update !== null;
  return (
    <div className="segment">
      <h2>{props.title}</h2>
      <SectionError error={props.error} />
      {props.items.length === 0 ? (
        <p className="muted">{props.empty}</p>
      ) : (
        <table className="data compact">
          <thead>
            <tr>
              {props.columns.map((c) => (
                <th scope="col" key={c}>
                  {c}
                </th>
              ))}
              {editing && props.onRemove && (
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {props.items.map((item, i) => (
              <tr key={i}>
                {props.row(item, i).map((cell, j) => (
                  <td key={j}>{cell}</td>
                ))}
                {editing && props.onRemove && (
                  <td>
                    <button type="button" className="small" onClick={() => props.onRemove!(i)}>
                      Remove<span className="sr-only"> row {i + 1}</span>
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && props.onAdd && (
        <button type="button" className="small" onClick={props.onAdd}>
          {props.addLabel ?? 'Add'}
        </button>
      )}
    </div>
  );
}

/** An input inside a table cell, labelled for screen readers by its column and row. */
function CellInput(props: { label: string; value: string; onChange: (v: string) => void; type?: string; size?: number }) {
  return <input aria-label={props.label} type={props.type ?? 'text'} value={props.value} size={props.size ?? 14} onChange={(e) => props.onChange(e.target.value)} />;
}

function CellSelect(props: { label: string; value: string; options: string[]; onChange: (v: string) => void }) {
  return (
    <select aria-label={props.label} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
      {props.options.map((o) => (
        <option key={o}>{o}</option>
      ))}
    </select>
  );
}

export function IdentifiersSection({ user, update, errors }: Props) {
  const list = user.user_identifier ?? [];
  return (
    <Segments
      title="Identifiers"
      items={list}
      columns={['Type', 'Value', 'Status', 'Note']}
      update={update}
      error={errors.identifiers ?? errors.primary_id}
      empty="No identifiers besides the primary ID."
      addLabel="Add identifier"
      onAdd={() => update?.((d) => void (d.user_identifier = [...(d.user_identifier ?? []), { id_type: code('BARCODE'), value: '', status: 'ACTIVE' }]))}
      onRemove={(i) => update?.((d) => void d.user_identifier?.splice(i, 1))}
      row={(idf, i) =>
        update
          ? [
              <CellInput label={`Identifier ${i + 1} type`} value={idf.id_type.value} size={10} onChange={(v) => update((d) => void (d.user_identifier![i]!.id_type = code(v)))} />,
              <CellInput label={`Identifier ${i + 1} value`} value={idf.value} onChange={(v) => update((d) => void (d.user_identifier![i]!.value = v))} />,
              <CellSelect label={`Identifier ${i + 1} status`} value={idf.status ?? 'ACTIVE'} options={['ACTIVE', 'INACTIVE']} onChange={(v) => update((d) => void (d.user_identifier![i]!.status = v))} />,
              <CellInput label={`Identifier ${i + 1} note`} value={idf.note ?? ''} onChange={(v) => update((d) => void (d.user_identifier![i]!.note = v || null))} />,
            ]
          : [codeText(idf.id_type), <span className="mono">{idf.value}</span>, idf.status ?? 'ACTIVE', idf.note ?? '']
      }
    />
  );
}

export function RolesSection({ user, update, errors }: Props) {
  const list = user.user_role ?? [];
  return (
    <Segments
      title="Roles"
      items={list}
      columns={['Role', 'Scope', 'Status', 'Expires', 'Parameters']}
      update={update}
      error={errors.roles}
      empty="No roles."
      addLabel="Add role"
      onAdd={() => update?.((d) => void (d.user_role = [...(d.user_role ?? []), { role_type: code(''), scope: code(''), status: code('ACTIVE') }]))}
      onRemove={(i) => update?.((d) => void d.user_role?.splice(i, 1))}
      row={(r, i) => {
        const params = (r.parameter ?? []).map((p) => `${p.type.value}: ${p.value.desc ?? p.value.value}${p.scope?.value ? ` (${p.scope.value})` : ''}`).join('; ');
        return update
          ? [
              <CellInput label={`Role ${i + 1} type code`} value={r.role_type.value} size={6} onChange={(v) => update((d) => void (d.user_role![i]!.role_type = code(v)))} />,
              <CellInput label={`Role ${i + 1} scope`} value={r.scope.value} onChange={(v) => update((d) => void (d.user_role![i]!.scope = code(v)))} />,
              <CellSelect label={`Role ${i + 1} status`} value={r.status.value} options={['ACTIVE', 'INACTIVE']} onChange={(v) => update((d) => void (d.user_role![i]!.status = code(v)))} />,
              <CellInput label={`Role ${i + 1} expiry date`} type="date" value={day(r.expiry_date)} onChange={(v) => update((d) => void (d.user_role![i]!.expiry_date = almaDate(v)))} />,
              params || '—',
            ]
          : [codeText(r.role_type), codeText(r.scope), r.status.value, day(r.expiry_date) || '—', params || '—'];
      }}
    />
  );
}

export function ContactSection({ user, update, errors }: Props) {
  const emails = user.contact_info?.email ?? [];
  const phones = user.contact_info?.phone ?? [];
  const addresses = user.contact_info?.address ?? [];
  const contact = (d: AlmaUser) => (d.contact_info ??= { address: [], email: [], phone: [] });
  return (
    <>
      <Segments
        title="E-mail addresses"
        items={emails}
        columns={['Address', 'Type', 'Preferred']}
        update={update}
        error={errors.contact}
        empty="No e-mail address."
        addLabel="Add e-mail address"
        onAdd={() => update?.((d) => void (contact(d).email = [...(contact(d).email ?? []), { email_address: '', email_type: [code('personal')], preferred: emails.length === 0 }]))}
        onRemove={(i) => update?.((d) => void contact(d).email?.splice(i, 1))}
        row={(e, i) =>
          update
            ? [
                <CellInput label={`E-mail ${i + 1} address`} type="email" value={e.email_address} size={28} onChange={(v) => update((d) => void (contact(d).email![i]!.email_address = v))} />,
                <CellInput label={`E-mail ${i + 1} type`} value={e.email_type[0]?.value ?? ''} size={10} onChange={(v) => update((d) => void (contact(d).email![i]!.email_type = [code(v)]))} />,
                <input type="radio" name="preferred-email" aria-label={`E-mail ${i + 1} preferred`} checked={e.preferred} onChange={() => update((d) => contact(d).email!.forEach((m, j) => (m.preferred = j === i)))} />,
              ]
            : [e.email_address, e.email_type.map(codeText).join(', '), e.preferred ? 'Yes' : '']
        }
      />
      <Segments
        title="Phone numbers"
        items={phones}
        columns={['Number', 'Type', 'Preferred']}
        update={update}
        empty="No phone number."
        addLabel="Add phone number"
        onAdd={() => update?.((d) => void (contact(d).phone = [...(contact(d).phone ?? []), { phone_number: '', phone_type: [code('home')], preferred: phones.length === 0 }]))}
        onRemove={(i) => update?.((d) => void contact(d).phone?.splice(i, 1))}
        row={(p, i) =>
          update
            ? [
                <CellInput label={`Phone ${i + 1} number`} type="tel" value={p.phone_number} onChange={(v) => update((d) => void (contact(d).phone![i]!.phone_number = v))} />,
                <CellInput label={`Phone ${i + 1} type`} value={p.phone_type[0]?.value ?? ''} size={10} onChange={(v) => update((d) => void (contact(d).phone![i]!.phone_type = [code(v)]))} />,
                <input type="radio" name="preferred-phone" aria-label={`Phone ${i + 1} preferred`} checked={p.preferred} onChange={() => update((d) => contact(d).phone!.forEach((m, j) => (m.preferred = j === i)))} />,
              ]
            : [p.phone_number, p.phone_type.map(codeText).join(', '), p.preferred ? 'Yes' : '']
        }
      />
      <Segments
        title="Addresses"
        items={addresses}
        columns={['Address', 'City', 'Postal code', 'Type', 'Preferred']}
        update={null}
        empty="No postal address."
        row={(a) => [a.line1 ?? '', a.city ?? '', a.postal_code ?? '', a.address_type.map(codeText).join(', '), a.preferred ? 'Yes' : '']}
      />
    </>
  );
}

export function NotesSection({ user, update, errors }: Props) {
  const notes = user.user_note ?? [];
  const blocks = user.user_block ?? [];
  return (
    <>
      <Segments
        title="Notes"
        items={notes}
        columns={['Type', 'Note', 'User can see', 'Created']}
        update={update}
        error={errors.notes}
        empty="No notes."
        addLabel="Add note"
        onAdd={() => update?.((d) => void (d.user_note = [...(d.user_note ?? []), { note_type: code('GENERAL'), note_text: '', user_viewable: false }]))}
        onRemove={(i) => update?.((d) => void d.user_note?.splice(i, 1))}
        row={(n, i) =>
          update
            ? [
                <CellInput label={`Note ${i + 1} type`} value={n.note_type.value} size={10} onChange={(v) => update((d) => void (d.user_note![i]!.note_type = code(v)))} />,
                <CellInput label={`Note ${i + 1} text`} value={n.note_text} size={36} onChange={(v) => update((d) => void (d.user_note![i]!.note_text = v))} />,
                <input type="checkbox" aria-label={`Note ${i + 1} user can see`} checked={n.user_viewable === true} onChange={(e) => update((d) => void (d.user_note![i]!.user_viewable = e.target.checked))} />,
                day(n.created_date),
              ]
            : [codeText(n.note_type), n.note_text, n.user_viewable ? 'Yes' : 'No', `${day(n.created_date)}${n.created_by ? ` by ${n.created_by}` : ''}`]
        }
      />
      <Segments
        title="Blocks"
        items={blocks}
        columns={['Type', 'Description', 'Status', 'Note', 'Expires']}
        update={update}
        error={errors.blocks}
        empty="No blocks."
        onRemove={(i) => update?.((d) => void d.user_block?.splice(i, 1))}
        row={(b) => [codeText(b.block_type), codeText(b.block_description), b.block_status, b.block_note ?? '', day(b.expiry_date) || '—']}
      />
    </>
  );
}
