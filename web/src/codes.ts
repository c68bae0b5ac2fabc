// The institution's code tables, as the pages' selects offer them (GET /api/v1/code-tables/:name).
// A page makes one cache (createCodeCache) and hands it down in CodesContext, so each table is
// fetched at most once while the page is open and afresh on the next visit (an administrator may
// have changed it meanwhile). The rule for what a select offers is written once here: enabled
// codes, plus the value the record already holds even when it is disabled or unknown, so a saved
// record never silently loses a value (the server keeps a held disabled code valid: held-codes.ts).
import { createContext, useContext, useEffect, useState } from 'react';
import { api, enc } from './api';

export interface CodeRow {
  code: string;
  description: string;
  enabled: boolean;
  default: boolean;
  /** UserIdentifierTypes: the record types an identifier type may be on. */
  record_types?: string[];
}

export interface Option {
  value: string;
  label: string;
}

export function createCodeCache() {
  const tables = new Map<string, Promise<CodeRow[]>>();
  return {
    table(name: string): Promise<CodeRow[]> {
      let rows = tables.get(name);
      if (!rows) {
        rows = api<{ row: CodeRow[] }>('GET', `/code-tables/${enc(name)}`).then((r) => r.body.row);
        // A failed load is tried again by the next field that asks.
        rows.catch(() => tables.delete(name));
        tables.set(name, rows);
      }
      return rows;
    },
  };
}
export type CodeCache = ReturnType<typeof createCodeCache>;

export const CodesContext = createContext<CodeCache>(createCodeCache());

/**
 * A table's rows; null while loading (or while not `active`: a record only shown needs none), []
 * when it cannot be read (the held value is still offered).
 */
export function useCodeTable(name: string, active = true): CodeRow[] | null {
  const cache = useContext(CodesContext);
  const [rows, setRows] = useState<CodeRow[] | null>(null);
  useEffect(() => {
    if (!active) return;
    let live = true;
    cache.table(name).then(
      (r) => live && setRows(r),
      () => live && setRows([]),
    );
    return () => {
      live = false;
    };
  }, [cache, name, active]);
  return rows;
}

export const codeLabel = (code: string, description?: string | null) => (description && description !== code ? `${description} (${code})` : code);

/**
 * What a select offers: the enabled codes (those `fits` allows), and the held value wherever it
 * is not among them (disabled, unknown, or not fitting), marked so. `empty` adds a first option
 * for no value (its label), offered too whenever nothing is chosen yet.
 */
export function codeOptions(
  rows: CodeRow[] | null,
  held: string | null | undefined,
  opts: { empty?: string; fits?: (row: CodeRow) => boolean; extra?: Option[] } = {},
): Option[] {
  const out: Option[] = [...(opts.extra ?? [])];
  const taken = (v: string) => out.some((o) => o.value.toLowerCase() === v.toLowerCase());
  for (const r of rows ?? []) if (r.enabled && (!opts.fits || opts.fits(r)) && !taken(r.code)) out.push({ value: r.code, label: codeLabel(r.code, r.description) });
  if (held && !taken(held)) {
    const row = rows?.find((r) => r.code.toLowerCase() === held.toLowerCase());
    const why = !rows ? '' : !row ? ' — not in the code table' : !row.enabled ? ' — disabled' : ' — not for this record';
    out.unshift({ value: row?.code ?? held, label: `${codeLabel(row?.code ?? held, row?.description)}${why}` });
  }
  if (opts.empty !== undefined || !held) out.unshift({ value: '', label: opts.empty ?? 'Choose…' });
  return out;
}

/** The value a new segment starts with: the table's default, else its first enabled code. */
export function firstCode(rows: CodeRow[] | null, fits?: (row: CodeRow) => boolean): string {
  const usable = (rows ?? []).filter((r) => r.enabled && (!fits || fits(r)));
  return (usable.find((r) => r.default) ?? usable[0])?.code ?? '';
}
