// CSV that Carrel writes (SIS exports, a load's error report) is opened in spreadsheets, which run
// a cell beginning with = + - @ (or a tab or carriage return before one) as a formula: a user's
// name from an SIS file, "=HYPERLINK(...)" or "=cmd|' /C calc'!A0", would run on a librarian's
// machine. Every CSV writer goes through csvText, which prefixes such a cell with a single quote
// (OWASP's rule); what is stored stays what was loaded.
//
// Round trip: a cell that already begins with a quote gets one more, and a CSV load takes one
// leading quote off a cell whose next character is one of these or a quote (restoreCsvCell). So
// an exported CSV loads back to exactly the stored values (phone numbers such as +44..., names
// such as -ann-), at the cost that a hand-made file's literal "'=x" loads as "=x". A cell that
// begins with a quote followed by anything else is loaded as it is.
import { stringify } from 'csv-stringify/sync';

const NEEDS_QUOTE = /^[=+\-@\t\r']/;

/** One cell as a spreadsheet will show it and never run it. */
export function neutraliseCsvCell(value: unknown): string {
  const s = value === null || value === undefined ? '' : String(value);
  return NEEDS_QUOTE.test(s) ? `'${s}` : s;
}

/** The inverse, for CSV loads: takes off the quote neutraliseCsvCell put on. */
export function restoreCsvCell(s: string): string {
  return s.length > 1 && s[0] === "'" && NEEDS_QUOTE.test(s.slice(1)) ? s.slice(1) : s;
}

/** Rows as CSV text (lines ending in \n), every cell neutralised. */
export function csvText(rows: readonly (readonly unknown[])[]): string {
  return stringify(rows.map((row) => row.map(neutraliseCsvCell)));
}
