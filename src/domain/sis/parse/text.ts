// Bytes to text for SIS files: UTF-8 only, checked as it streams, with the line of the first
// bad byte. A file in another encoding is refused whole rather than loaded as mojibake.
import { AppError } from '../../../errors.js';
import type { UserInput } from '../../../model/user.js';

/**
 * A record as pass one reads it: its raw text (mapped later, and only if needed) and the few
 * values a load needs first. Values are as written (trimmed); null when absent.
 */
export interface RawRecord {
  /** Where it starts: "users.xml line 12". */
  where: string;
  line: number;
  /** The <user> element, the JSON line, or the CSV row as {"header": "value"} in JSON. */
  raw?: string;
  primaryId?: string | null;
  /** Identifier types and values, for a match by identifier. */
  identifiers?: { type: string; value: string }[];
  externalId?: string | null;
  /** Why the record cannot be read at all (it fails alone; the file goes on). */
  error?: string;
  /**
   * The record already mapped, when the reader was asked to and could (Alma XML): the UserInput
   * as JSON (as a load spools it), or why it cannot be mapped. Absent: map `raw` when needed.
   */
  mapped?: { input: string; error?: undefined } | { input?: undefined; error: string };
  /**
   * Set when the record's text is one a stored user was last loaded from (known-records.ts): it
   * was not parsed, and nothing else of it is given (not even `raw`: a load that cannot settle it,
   * its match id repeating an earlier record's, reads the file again without known records); its
   * hash and key are those stored.
   */
  known?: { hash: string; key: string };
}

/** A raw record mapped to the domain (pass two), or why it could not be. */
export type MappedRecord = { input: UserInput; error?: undefined } | { input?: undefined; error: string };

export function fileRefused(where: string, reason: string): AppError {
  return new AppError('SIS_FILE_REFUSED', { where: where ? `${where}: ` : '', reason });
}

export const at = (name: string, line: number) => (name ? `${name} line ${line}` : `line ${line}`);

/** Decodes a byte stream as UTF-8, refusing invalid bytes, UTF-16 and NUL characters. */
export async function* utf8Text(bytes: AsyncIterable<Buffer | Uint8Array>, name: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let line = 1;
  let first = true;
  for await (const raw of bytes) {
    const chunk = raw instanceof Buffer ? raw : Buffer.from(raw);
    if (first && chunk.length >= 2) {
      first = false;
      if ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff)) {
        throw fileRefused(at(name, 1), 'the file is UTF-16; SIS files must be UTF-8');
      }
    }
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw fileRefused(at(name, line + countLines(safePrefix(chunk))), 'the file is not valid UTF-8 (is it Latin-1 or Windows-1252?); SIS files must be UTF-8');
    }
    if (text.includes('\u0000')) throw fileRefused(at(name, line + countLines(text.slice(0, text.indexOf('\u0000')))), 'the file contains NUL characters (UTF-16 or binary?)');
    line += countLines(text);
    yield text;
  }
  try {
    const rest = decoder.decode();
    if (rest) yield rest;
  } catch {
    throw fileRefused(at(name, line), 'the file ends in the middle of a UTF-8 character (truncated?)');
  }
}

/** The valid UTF-8 text before the first bad byte of a chunk, to count the lines up to it. */
function safePrefix(chunk: Buffer): string {
  return chunk.toString('utf8').split('\ufffd')[0] ?? '';
}

export function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Splits text into lines (without the line break), refusing a line longer than maxChars. */
export async function* textLines(text: AsyncIterable<string>, name: string, maxChars: number): AsyncGenerator<{ line: number; text: string }> {
  let buffer = '';
  let line = 1;
  for await (const chunk of text) {
    buffer += chunk;
    let start = 0;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n', start)) {
      yield { line, text: buffer.slice(start, nl).replace(/\r$/, '') };
      start = nl + 1;
      line++;
    }
    buffer = buffer.slice(start);
    if (buffer.length > maxChars) throw fileRefused(at(name, line), `a line is longer than ${maxChars} characters`);
  }
  if (buffer.length) yield { line, text: buffer.replace(/\r$/, '') };
}
