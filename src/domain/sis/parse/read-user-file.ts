// One entry point for every SIS file: a plain file or a zip of files, each read in the profile's
// format (Alma XML, CSV with the mapping, or JSON lines). Records come out in file order, raw;
// the caller numbers them (what a resumed load skips by) and maps those it needs with
// mapRawRecords.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { CsvMapping, SisFormat } from '../../../model/profile.js';
import { mapCsvUsers, readCsvUsers } from './csv-users.js';
import { mapJsonlUsers, readJsonlUsers } from './jsonl-users.js';
import { fileRefused, utf8Text, type MappedRecord, type RawRecord } from './text.js';
import { mapXmlUsers, readXmlUsers, type XmlReadOptions } from './xml-users.js';
import { zipEntries } from './zip.js';

export type { MappedRecord, RawRecord } from './text.js';

export interface FileFormat {
  format: SisFormat;
  csvMapping: CsvMapping | null;
}

async function isZip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    // Local file header, or the end record of an empty zip.
    return bytesRead >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6);
  } finally {
    await fh.close();
  }
}

/** What a reader may do besides reading (only Alma XML maps records as it reads them). */
export type ReadOptions = XmlReadOptions;

function readEntry(bytes: AsyncIterable<Buffer>, name: string, f: FileFormat, opts: ReadOptions): AsyncGenerator<RawRecord> {
  const text = utf8Text(bytes, name);
  if (f.format === 'csv') return readCsvUsers(text, name, f.csvMapping ?? {});
  if (f.format === 'jsonl') return readJsonlUsers(text, name);
  return readXmlUsers(text, name, opts);
}

/** `displayName` names the file in messages (the upload's name, not the spool path). */
export async function* readUserFile(path: string, displayName: string, f: FileFormat, opts: ReadOptions = {}): AsyncGenerator<RawRecord> {
  if (await isZip(path)) {
    let entries = 0;
    for await (const entry of zipEntries(path, displayName)) {
      entries++;
      yield* readEntry(entry.bytes, entry.name, f, opts);
    }
    if (entries === 0) throw fileRefused(displayName, 'the zip file holds no files');
    return;
  }
  yield* readEntry(createReadStream(path, { highWaterMark: 256 * 1024 }), displayName, f, opts);
}

/** Raw records of this format (pass one's `raw`) to UserInputs, or why not, in order. */
export function mapRawRecords(f: FileFormat, raws: readonly string[]): MappedRecord[] {
  if (!raws.length) return [];
  if (f.format === 'csv') return mapCsvUsers(raws, f.csvMapping ?? {});
  if (f.format === 'jsonl') return mapJsonlUsers(raws);
  return mapXmlUsers(raws);
}
