// The record's sections on a user's page (roles: user-roles.tsx). Each shows the record, or edits
// the draft when given `update`; every code is chosen from its code table (user-cells.tsx); a
// refused save's messages appear at their field (errors, from field-errors.ts).
import { codeText, day, type AlmaAddress, type AlmaUser } from '../alma';
import { firstCode, useCodeTable } from '../codes';
import { Field } from '../form';
import { almaDate, CellCode, CellInput, code, CodeField, Segments } from './user-cells';
import type { Update } from './UserPage';

export interface SectionProps {
  user: AlmaUser;
  update: Update | null;
  errors: Record<string, string>;
}

type CodeKey = 'user_title' | 'user_group' | 'campus_code' | 'job_category' | 'preferred_language' | 'gender' | 'status' | 'record_type';

export function GeneralSection({ user, update, errors }: SectionProps) {
  const text = (key: 'first_name' | 'middle_name' | 'last_name' | 'job_description') => (v: string) => update?.((d) => void (d[key] = v));
  const dateField = (key: 'expiry_date' | 'purge_date' | 'birth_date') => (v: string) => update?.((d) => void (d[key] = almaDate(v)));
  const on = <T,>(f: T) => (update ? f : undefined);
  const codeField = (key: CodeKey, label: string, table: string, empty?: string) => (
    <CodeField
      id={key}
      label={label}
      table={table}
      value={user[key]}
      {...(empty ? { empty } : {})}
      onChange={on((v: string) => update?.((d) => void ((d as Record<CodeKey, unknown>)[key] = v ? code(v) : null)))}
      error={errors[key]}
    />
  );
  return (
    <>
      <div className="grid">
        {codeField('user_title', 'Title', 'UserTitles', 'None')}
        <Field id="first_name" label="First name" value={user.first_name ?? ''} onChange={on(text('first_name'))} error={errors.first_name} />
        <Field id="middle_name" label="Middle name" value={user.middle_name ?? ''} onChange={on(text('middle_name'))} error={errors.middle_name} />
        <Field id="last_name" label="Last name" value={user.last_name ?? ''} onChange={on(text('last_name'))} error={errors.last_name} required />
        <Field id="primary_id" label="Primary ID" value={user.primary_id} error={errors.primary_id} />
        {codeField('user_group', 'User group', 'UserGroups', 'None')}
        {codeField('campus_code', 'Campus', 'CampusList', 'None')}
        {codeField('job_category', 'Job category', 'JobTitles', 'None')}
        <Field id="job_description" label="Job description" value={user.job_description ?? ''} onChange={on(text('job_description'))} />
        {codeField('status', 'Status', 'ContentStructureStatus')}
        {codeField('record_type', 'Record type', 'AddNewUserOptions')}
        <CodeField id="account_type" label="Account type" table="UserUserType" value={user.account_type} error={errors.account_type} help={update ? 'Changed on the Sign-in tab' : undefined} />
        <Field id="external_id" label="External ID" value={user.external_id ?? ''} error={errors.external_id} />
        <Field id="expiry_date" label="Expiry date" type="date" value={day(user.expiry_date)} onChange={on(dateField('expiry_date'))} error={errors.expiry_date} />
        <Field id="purge_date" label="Purge date" type="date" value={day(user.purge_date)} onChange={on(dateField('purge_date'))} error={errors.purge_date} />
        <Field id="birth_date" label="Birth date" type="date" value={day(user.birth_date)} onChange={on(dateField('birth_date'))} error={errors.birth_date} />
        {codeField('gender', 'Gender', 'Genders', 'None')}
        {codeField('preferred_language', 'Preferred language', 'UserPreferredLanguage')}
      </div>
      <StatisticsSection user={user} update={update} errors={errors} />
    </>
  );
}

function StatisticsSection({ user, update, errors }: SectionProps) {
  const list = user.user_statistic ?? [];
  const categories = useCodeTable('UserStatCategories', update !== null);
  return (
    <Segments
      title="Statistics"
      items={list}
      columns={['Category', 'Note']}
      update={update}
      error={errors.statistics}
      empty="No statistics."
      addLabel="Add statistic"
      rowName={(i) => `statistic ${i + 1}`}
      onAdd={() => update?.((d) => void (d.user_statistic = [...(d.user_statistic ?? []), { statistic_category: code(firstCode(categories)), statistic_note: null }]))}
      onRemove={(i) => update?.((d) => void d.user_statistic?.splice(i, 1))}
      row={(s, i) =>
        update
          ? [
              <CellCode label={`Statistic ${i + 1} category`} table="UserStatCategories" value={s.statistic_category.value} onChange={(v) => update((d) => void (d.user_statistic![i]!.statistic_category = code(v)))} />,
              <CellInput label={`Statistic ${i + 1} note`} value={s.statistic_note ?? ''} size={30} onChange={(v) => update((d) => void (d.user_statistic![i]!.statistic_note = v || null))} />,
            ]
          : [codeText(s.statistic_category), s.statistic_note ?? '']
      }
    />
  );
}

const STATUSES = 'ContentStructureStatus';
/** A block's expiry is a timestamp (xs:dateTime), not a date as a role's is. */
const blockExpiry = (v: string) => (v ? `${v}T00:00:00Z` : null);

export function IdentifiersSection({ user, update, errors }: SectionProps) {
  const list = user.user_identifier ?? [];
  // Each identifier type names the record types it may be on (code-table-service.ts).
  const fits = (r: { record_types?: string[] }) => !r.record_types || r.record_types.includes(user.record_type.value);
  const types = useCodeTable('UserIdentifierTypes', update !== null);
  return (
    <Segments
      title="Identifiers"
      items={list}
      columns={['Type', 'Value', 'Status', 'Note']}
      update={update}
      error={errors.identifiers ?? errors.primary_id}
      empty="No identifiers besides the primary ID."
      addLabel="Add identifier"
      rowName={(i) => `identifier ${i + 1}`}
      onAdd={() => update?.((d) => void (d.user_identifier = [...(d.user_identifier ?? []), { id_type: code(firstCode(types, fits)), value: '', status: 'ACTIVE' }]))}
      onRemove={(i) => update?.((d) => void d.user_identifier?.splice(i, 1))}
      row={(idf, i) =>
        update
          ? [
              <CellCode label={`Identifier ${i + 1} type`} table="UserIdentifierTypes" fits={fits} value={idf.id_type.value} onChange={(v) => update((d) => void (d.user_identifier![i]!.id_type = code(v)))} />,
              <CellInput label={`Identifier ${i + 1} value`} value={idf.value} onChange={(v) => update((d) => void (d.user_identifier![i]!.value = v))} />,
              <CellCode label={`Identifier ${i + 1} status`} table={STATUSES} value={idf.status ?? 'ACTIVE'} onChange={(v) => update((d) => void (d.user_identifier![i]!.status = v))} />,
              <CellInput label={`Identifier ${i + 1} note`} value={idf.note ?? ''} onChange={(v) => update((d) => void (d.user_identifier![i]!.note = v || null))} />,
            ]
          : [codeText(idf.id_type), <span className="mono">{idf.value}</span>, idf.status ?? 'ACTIVE', idf.note ?? '']
      }
    />
  );
}

export function ContactSection({ user, update, errors }: SectionProps) {
  const emails = user.contact_info?.email ?? [];
  const phones = user.contact_info?.phone ?? [];
  const addresses = user.contact_info?.address ?? [];
  const editing = update !== null;
  const emailTypes = useCodeTable('UserEmailTypes', editing);
  const phoneTypes = useCodeTable('UserPhoneTypes', editing);
  const addressTypes = useCodeTable('UserAddressTypes', editing);
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
        rowName={(i) => `e-mail ${i + 1}`}
        onAdd={() => update?.((d) => void (contact(d).email = [...(contact(d).email ?? []), { email_address: '', email_type: [code(firstCode(emailTypes))], preferred: emails.length === 0 }]))}
        onRemove={(i) => update?.((d) => void contact(d).email?.splice(i, 1))}
        row={(e, i) =>
          update
            ? [
                <CellInput label={`E-mail ${i + 1} address`} type="email" value={e.email_address} size={28} onChange={(v) => update((d) => void (contact(d).email![i]!.email_address = v))} />,
                <CellCode label={`E-mail ${i + 1} type`} table="UserEmailTypes" value={e.email_type[0]?.value ?? ''} onChange={(v) => update((d) => void (contact(d).email![i]!.email_type = [code(v)]))} />,
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
        rowName={(i) => `phone ${i + 1}`}
        onAdd={() => update?.((d) => void (contact(d).phone = [...(contact(d).phone ?? []), { phone_number: '', phone_type: [code(firstCode(phoneTypes))], preferred: phones.length === 0 }]))}
        onRemove={(i) => update?.((d) => void contact(d).phone?.splice(i, 1))}
        row={(p, i) =>
          update
            ? [
                <CellInput label={`Phone ${i + 1} number`} type="tel" value={p.phone_number} onChange={(v) => update((d) => void (contact(d).phone![i]!.phone_number = v))} />,
                <CellCode label={`Phone ${i + 1} type`} table="UserPhoneTypes" value={p.phone_type[0]?.value ?? ''} onChange={(v) => update((d) => void (contact(d).phone![i]!.phone_type = [code(v)]))} />,
                <input type="radio" name="preferred-phone" aria-label={`Phone ${i + 1} preferred`} checked={p.preferred} onChange={() => update((d) => contact(d).phone!.forEach((m, j) => (m.preferred = j === i)))} />,
              ]
            : [p.phone_number, p.phone_type.map(codeText).join(', '), p.preferred ? 'Yes' : '']
        }
      />
      <Segments
        title="Addresses"
        items={addresses}
        columns={['Address', 'City', 'Postal code', 'Country', 'Type', 'Preferred']}
        update={update}
        empty="No postal address."
        addLabel="Add address"
        rowName={(i) => `address ${i + 1}`}
        onAdd={() => update?.((d) => void (contact(d).address = [...(contact(d).address ?? []), { line1: '', city: '', address_type: [code(firstCode(addressTypes))], preferred: addresses.length === 0 }]))}
        onRemove={(i) => update?.((d) => void contact(d).address?.splice(i, 1))}
        row={(a, i) => {
          const set = (change: (a: AlmaAddress) => void) => update?.((d) => change(contact(d).address![i]!));
          return update
            ? [
                <CellInput label={`Address ${i + 1} first line`} value={a.line1 ?? ''} size={24} onChange={(v) => set((x) => void (x.line1 = v))} />,
                <CellInput label={`Address ${i + 1} city`} value={a.city ?? ''} onChange={(v) => set((x) => void (x.city = v))} />,
                <CellInput label={`Address ${i + 1} postal code`} value={a.postal_code ?? ''} size={8} onChange={(v) => set((x) => void (x.postal_code = v || null))} />,
                <CellCode label={`Address ${i + 1} country`} table="CountryCodes" empty="None" value={a.country?.value ?? ''} onChange={(v) => set((x) => void (x.country = v ? code(v) : null))} />,
                <CellCode label={`Address ${i + 1} type`} table="UserAddressTypes" value={a.address_type[0]?.value ?? ''} onChange={(v) => set((x) => void (x.address_type = [code(v)]))} />,
                <input type="radio" name="preferred-address" aria-label={`Address ${i + 1} preferred`} checked={a.preferred} onChange={() => update((d) => contact(d).address!.forEach((m, j) => (m.preferred = j === i)))} />,
              ]
            : [a.line1 ?? '', a.city ?? '', a.postal_code ?? '', codeText(a.country), a.address_type.map(codeText).join(', '), a.preferred ? 'Yes' : ''];
        }}
      />
    </>
  );
}

export function NotesSection({ user, update, errors }: SectionProps) {
  const notes = user.user_note ?? [];
  const blocks = user.user_block ?? [];
  const editing = update !== null;
  const noteTypes = useCodeTable('NoteTypes', editing);
  const blockTypes = useCodeTable('UserBlockTypes', editing);
  const blockDescriptions = useCodeTable('UserBlockDescription', editing);
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
        rowName={(i) => `note ${i + 1}`}
        onAdd={() => update?.((d) => void (d.user_note = [...(d.user_note ?? []), { note_type: code(firstCode(noteTypes)), note_text: '', user_viewable: false }]))}
        onRemove={(i) => update?.((d) => void d.user_note?.splice(i, 1))}
        row={(n, i) =>
          update
            ? [
                <CellCode label={`Note ${i + 1} type`} table="NoteTypes" value={n.note_type.value} onChange={(v) => update((d) => void (d.user_note![i]!.note_type = code(v)))} />,
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
        columns={['Type', 'Block', 'Status', 'Note', 'Expires']}
        update={update}
        error={errors.blocks}
        empty="No blocks."
        addLabel="Add block"
        rowName={(i) => `block ${i + 1}`}
        onAdd={() =>
          update?.(
            (d) =>
              void (d.user_block = [
                ...(d.user_block ?? []),
                { block_type: code(firstCode(blockTypes)), block_description: code(firstCode(blockDescriptions)), block_status: 'ACTIVE', block_note: null, expiry_date: null },
              ]),
          )
        }
        onRemove={(i) => update?.((d) => void d.user_block?.splice(i, 1))}
        row={(b, i) =>
          update
            ? [
                <CellCode label={`Block ${i + 1} type`} table="UserBlockTypes" value={b.block_type.value} onChange={(v) => update((d) => void (d.user_block![i]!.block_type = code(v)))} />,
                <CellCode label={`Block ${i + 1} block`} table="UserBlockDescription" value={b.block_description.value} onChange={(v) => update((d) => void (d.user_block![i]!.block_description = code(v)))} />,
                <CellCode label={`Block ${i + 1} status`} table={STATUSES} value={b.block_status} onChange={(v) => update((d) => void (d.user_block![i]!.block_status = v))} />,
                <CellInput label={`Block ${i + 1} note`} value={b.block_note ?? ''} size={24} onChange={(v) => update((d) => void (d.user_block![i]!.block_note = v || null))} />,
                <CellInput label={`Block ${i + 1} expiry date`} type="date" value={day(b.expiry_date)} onChange={(v) => update((d) => void (d.user_block![i]!.expiry_date = blockExpiry(v)))} />,
              ]
            : [codeText(b.block_type), codeText(b.block_description), b.block_status, b.block_note ?? '', day(b.expiry_date) || '—']
        }
      />
    </>
  );
}
