// The building blocks of a user's page: a segment list as a table (add and remove when editing),
// inputs and selects inside its cells, and a form field whose value is a code of a code table.
// A code is always chosen from its table (codes.ts says what is offered); shown, it reads as
// Alma's description with the code.
import type { ReactNode } from 'react';
import { codeText, type Code } from '../alma';
import { codeOptions, useCodeTable, type CodeRow, type Option } from '../codes';
import { Field, SectionError } from '../form';
import type { Update } from './UserPage';

export const code = (value: string): Code => ({ value });
/** A date input's value as Alma's date (2027-08-31Z), or null when cleared. */
export const almaDate = (v: string) => (v ? `${v}Z` : null);

/** A table of a segment list, with add and remove when editing. */
export function Segments<T>(props: {
  title: string;
  items: T[];
  columns: string[];
  row: (item: T, i: number) => ReactNode[];
  update: Update | null;
  onAdd?: () => void;
  onRemove?: (i: number) => void;
  addLabel?: string;
  /** What a row is called in its Remove button's accessible name ("Role 2"). */
  rowName?: (i: number) => string;
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
                      Remove<span className="sr-only"> {props.rowName ? props.rowName(i) : `row ${i + 1}`}</span>
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
export function CellInput(props: { label: string; value: string; onChange: (v: string) => void; type?: string; size?: number }) {
  return <input aria-label={props.label} type={props.type ?? 'text'} value={props.value} size={props.size ?? 14} onChange={(e) => props.onChange(e.target.value)} />;
}

export function CellSelect(props: { label: string; value: string; options: readonly (string | Option)[]; onChange: (v: string) => void }) {
  return (
    <select aria-label={props.label} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
      {props.options.map((o) => {
        const opt = typeof o === 'string' ? { value: o, label: o } : o;
        return (
          <option key={opt.value} value={opt.value}>
            {opt.label}
          </option>
        );
      })}
    </select>
  );
}

interface CodeChoice {
  /** The code table the value comes from. */
  table: string;
  /** Label of a "no value" option; without it a value is required. */
  empty?: string;
  fits?: (row: CodeRow) => boolean;
  /** Options not in the table (a role's scope: the institution itself). */
  extra?: Option[];
}

/** A select of a code table inside a table cell. */
export function CellCode(props: CodeChoice & { label: string; value: string; onChange: (v: string) => void }) {
  const rows = useCodeTable(props.table);
  return <CellSelect label={props.label} value={props.value} options={codeOptions(rows, props.value, props)} onChange={props.onChange} />;
}

/** A form field whose value is a code: a select of its table when editing, its description when shown. */
export function CodeField(
  props: CodeChoice & { id: string; label: string; value: Code | null | undefined; onChange?: ((v: string) => void) | undefined; error?: string | undefined; help?: string | undefined },
) {
  const editing = props.onChange !== undefined;
  const rows = useCodeTable(props.table, editing);
  const held = props.value?.value ?? '';
  return (
    <Field
      id={props.id}
      label={props.label}
      value={editing ? held : codeText(props.value)}
      onChange={props.onChange}
      options={editing ? codeOptions(rows, held, props) : undefined}
      error={props.error}
      {...(props.help ? { help: props.help } : {})}
    />
  );
}
