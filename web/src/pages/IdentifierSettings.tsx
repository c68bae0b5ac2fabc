// Settings → Identifiers: which identifier type each record type must carry, how new users' card
// numbers are generated (type from UserIdentifierTypes, prefix, padding, check digit), the primary
// id's pattern and the preferred identifier. Saved as a PATCH of what changed; the server checks it.
// Beside each saved rule, the value the next new user gets (the server's preview; nothing taken).
import { useEffect, useState } from 'react';
import { api, errorText } from '../api';
import { Field } from '../form';
import { idOf, numberOrText, SaveButton, SaveStatus, useSettings, type SettingsForm } from '../settings-form';

const RECORD_TYPES = [
  { code: 'PUBLIC', label: 'Public users' },
  { code: 'STAFF', label: 'Staff users' },
  { code: 'CONTACT', label: 'Contacts' },
] as const;
const PRIMARY_ID = 'PRIMARY_ID';
const CHECK_DIGITS = [
  { value: 'none', label: 'None' },
  { value: 'luhn', label: 'Luhn (ISO/IEC 7812)' },
  { value: 'mod10', label: 'Modulus 10 (Codabar library barcode)' },
];
const CHECK_NAME: Record<string, string> = { luhn: 'a Luhn check digit', mod10: 'a modulus 10 check digit' };

interface IdType {
  code: string;
  description: string;
  enabled: boolean;
  record_types?: string[];
}
interface Rule {
  identifier_type: string;
  prefix: string;
  padding: number | string;
  check_digit: string;
}

/** The enabled identifier types a record type may carry, as the code table says. */
const typesFor = (types: IdType[], recordType: string) => types.filter((t) => t.enabled && (!t.record_types || t.record_types.includes(recordType)));
const option = (t: IdType) => ({ value: t.code, label: `${t.description} (${t.code})` });

/** The options, with the current value kept even when the table no longer offers it. */
function withCurrent(options: { value: string; label: string }[], current: string) {
  return current && !options.some((o) => o.value === current) ? [...options, { value: current, label: current }] : options;
}

export function IdentifierSettings() {
  const form = useSettings('institution');
  const [types, setTypes] = useState<IdType[]>([]);
  useEffect(() => {
    void api<{ row: IdType[] }>('GET', '/code-tables/UserIdentifierTypes').then(({ body }) => setTypes(body.row)).catch(() => setTypes([]));
  }, []);
  const d = form.draft;
  const mandatory = (d?.mandatory_identifier ?? {}) as Record<string, string>;
  const preferred = (d?.preferred_identifier as string | null) ?? '';

  return (
    <section>
      <h1>Identifiers</h1>
      <p className="muted">The identifiers new users must have, and the card numbers Carrel hands out for them.</p>
      {d && (
        <form onSubmit={(e) => void form.save(e)} noValidate className="form">
          <h2>Mandatory identifiers</h2>
          <p className="help">A new user of the record type is refused without an identifier of this type, unless a generation rule below supplies it.</p>
          <div className="grid">
            {RECORD_TYPES.filter((r) => r.code !== 'CONTACT').map((r) => (
              <Field
                key={r.code}
                id={idOf(`mandatory_identifier.${r.code}`)}
                label={r.label}
                value={mandatory[r.code] ?? ''}
                onChange={(v) => form.set('mandatory_identifier', v || undefined, r.code)}
                options={withCurrent([{ value: '', label: 'None' }, ...typesFor(types, r.code).map(option)], mandatory[r.code] ?? '')}
                error={form.errorAt(`mandatory_identifier.${r.code}`)}
              />
            ))}
          </div>

          <h2>Identifier generation</h2>
          <p className="help">A new user created without the rule&apos;s identifier gets the prefix, the next number zero-padded to the padding, and the check digit.</p>
          {RECORD_TYPES.map((r) => (
            <GenerationRule key={r.code} form={form} recordType={r.code} label={r.label} types={types} />
          ))}

          <h2>Primary id and preferred identifier</h2>
          <div className="grid">
            <Field
              id="primary_identifier_regex"
              label="Primary id pattern"
              value={(d.primary_identifier_regex as string | null) ?? ''}
              onChange={(v) => form.set('primary_identifier_regex', v === '' ? null : v)}
              error={form.errorAt('primary_identifier_regex')}
              help="A regular expression every primary id must match; empty for any."
            />
            <Field
              id="preferred_identifier"
              label="Preferred identifier"
              value={preferred}
              onChange={(v) => form.set('preferred_identifier', v === '' ? null : v)}
              options={withCurrent([{ value: '', label: 'None' }, { value: PRIMARY_ID, label: 'Primary id' }, ...typesFor(types, 'PUBLIC').map(option)], preferred)}
              error={form.errorAt('preferred_identifier')}
              help="Shown where one identifier stands for the user."
            />
          </div>
          <SaveStatus form={form} />
          <SaveButton form={form} />
        </form>
      )}
      {!d && <SaveStatus form={form} />}
    </section>
  );
}

function GenerationRule({ form, recordType, label, types }: { form: SettingsForm; recordType: string; label: string; types: IdType[] }) {
  const rules = (form.draft?.identifier_generation ?? {}) as Record<string, Rule>;
  const rule = rules[recordType];
  const path = `identifier_generation.${recordType}`;
  const at = (k: keyof Rule) => `${path}.${k}`;
  const change = (p: Partial<Rule>) => form.set('identifier_generation', { ...rule!, ...p }, recordType);
  // Contacts carry no identifiers: their rule can only make primary ids.
  const typeOptions = [
    { value: '', label: 'No rule' },
    { value: PRIMARY_ID, label: 'Primary id' },
    ...(recordType === 'CONTACT' ? [] : typesFor(types, recordType).map(option)),
  ];
  const saved = ((form.saved?.identifier_generation ?? {}) as Record<string, Rule>)[recordType];
  // A refusal of the rule as a whole (not of one of its fields).
  const error = form.errors[path];
  return (
    <fieldset className={error ? 'has-error' : undefined}>
      <legend>{label}</legend>
      <div className="grid">
        <Field
          id={idOf(at('identifier_type'))}
          label="Identifier type"
          value={rule?.identifier_type ?? ''}
          onChange={(v) =>
            form.set('identifier_generation', v ? { prefix: '', padding: 8, check_digit: 'none', ...rule, identifier_type: v } : undefined, recordType)
          }
          options={withCurrent(typeOptions, rule?.identifier_type ?? '')}
          error={form.errorAt(at('identifier_type'))}
        />
        {rule && (
          <>
            <Field id={idOf(at('prefix'))} label="Prefix" value={rule.prefix} onChange={(v) => change({ prefix: v })} error={form.errorAt(at('prefix'))} />
            <Field
              id={idOf(at('padding'))}
              label="Padding (digits)"
              type="number"
              value={String(rule.padding)}
              onChange={(v) => change({ padding: numberOrText(v) })}
              error={form.errorAt(at('padding'))}
            />
            <Field
              id={idOf(at('check_digit'))}
              label="Check digit"
              value={rule.check_digit}
              onChange={(v) => change({ check_digit: v })}
              options={CHECK_DIGITS}
              error={form.errorAt(at('check_digit'))}
            />
          </>
        )}
      </div>
      {rule && <Preview rule={rule} />}
      {rule && saved && <NextValue recordType={recordType} saved={saved} edited={JSON.stringify(rule) !== JSON.stringify(saved)} />}
      {error && <p className="field-error">{error}</p>}
    </fieldset>
  );
}

/**
 * The shape of a generated value (the first number; the check digit is named, not computed: the
 * server's scheme is the one rule, and the next number is its counter's to say).
 */
function Preview({ rule }: { rule: Rule }) {
  const padding = Number(rule.padding);
  if (!Number.isInteger(padding) || padding < 1 || padding > 18) return null;
  const number = '1'.padStart(padding, '0');
  const check = CHECK_NAME[rule.check_digit];
  return (
    <p className="help" data-testid="generation-preview">
      Looks like <span className="mono">{rule.prefix}{number}</span>
      {check ? ` followed by ${check}` : ''} (the first number; {padding} digits).
    </p>
  );
}

/**
 * The value the saved rule gives the next new user of the record type, as the server reads its
 * counter (skipping values someone holds); asked again whenever the saved rule changes. While
 * the rule is edited the saved one still numbers users, so the page says to save first.
 */
function NextValue({ recordType, saved, edited }: { recordType: string; saved: Rule; edited: boolean }) {
  const [next, setNext] = useState<{ value: string } | { error: string } | null>(null);
  const savedKey = JSON.stringify(saved);
  useEffect(() => {
    const abort = new AbortController();
    setNext(null);
    api<{ next_value: string }>('GET', `/institution/settings/identifier-generation/preview?record_type=${recordType}`, { signal: abort.signal })
      .then(({ body }) => setNext({ value: body.next_value }))
      .catch((e) => abort.signal.aborted || setNext({ error: errorText(e) }));
    return () => abort.abort();
  }, [recordType, savedKey]);
  if (edited) return <p className="help">Save the rule to see the next value it gives.</p>;
  if (!next) return null;
  return (
    <p className="help" data-testid="generation-next">
      {'value' in next ? (
        <>
          Next: <span className="mono">{next.value}</span>
        </>
      ) : (
        `Next: not known (${next.error})`
      )}
    </p>
  );
}
