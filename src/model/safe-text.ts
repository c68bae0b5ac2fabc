// The one rule for text any caller sends (API parameters and bodies, login forms, SIS records):
// no NUL and no lone UTF-16 surrogate. PostgreSQL cannot store NUL in text, and a lone surrogate
// has no UTF-8 form (drivers silently turn it into U+FFFD, so what was stored is not what was
// sent). Such text is refused, never repaired.

const UNSAFE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be accepted as text, or null when it can. */
export function unsafeTextReason(s: string): string | null {
  const m = UNSAFE.exec(s);
  if (!m) return null;
  return m[0] === '\u0000' ? 'NUL characters are not allowed' : 'unpaired UTF-16 surrogates are not allowed';
}

/** A value for a message: shortened, with control characters and lone surrogates made visible. */
export function shownText(s: string, max = 60): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(/[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Text Carrel writes itself (a report line, a job's error) from what a file held, made storable:
 * NUL and lone surrogates written as \\uXXXX. A message that echoes a value must not fail the load.
 */
export function storableText(s: string): string {
  return UNSAFE.test(s) ? s.replace(new RegExp(UNSAFE.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : s;
}

/** YYYY-MM-DD naming a real day (no 2023-02-30), by arithmetic: SIS loads check millions. */
export function isCalendarDate(d: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) return false;
  const y = Number(d.slice(0, 4));
  const m = Number(d.slice(5, 7));
  const day = Number(d.slice(8, 10));
  if (m < 1 || m > 12 || day < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return day <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}
