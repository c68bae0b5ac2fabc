// Pass one of a load: read the whole file, check it as a file, and spool its records (numbered
// in file order, already mapped to the domain) to a local JSON-lines file. Anything wrong with
// the file as a whole throws SIS_FILE_REFUSED here, before a single user is written; pass two
// applies the spool in batches and can skip exactly the records a crashed run committed.
//
// "A file for the wrong institution": a record naming an external_id other than this profile's
// code was exported for another SIS profile (of this or another institution). Alma sets
// external_id to the profile code anyway, so a file that says otherwise is the wrong file, and
// the whole file is refused rather than loaded under the wrong profile.
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { UserInput } from '../users/user.js';
import { readUserFile } from './parse/read-user-file.js';
import { fileRefused, textLines, utf8Text } from './parse/text.js';
import type { IntegrationProfile } from './profile.js';

export interface SpoolRecord {
  n: number;
  line: number;
  where: string;
  input?: UserInput;
  error?: string;
  /** recordHash of the input under the load's rules, computed while its JSON is at hand. */
  hash?: string;
}

export async function spoolFile(
  path: string,
  displayName: string,
  profile: Pick<IntegrationProfile, 'code' | 'format' | 'csvMapping'>,
  spoolPath: string,
  hashOf: (inputJson: string) => string,
): Promise<{ total: number }> {
  const out = createWriteStream(spoolPath);
  let n = 0;
  try {
    for await (const raw of readUserFile(path, displayName, profile)) {
      n++;
      const externalId = raw.input?.externalId?.trim();
      if (externalId && externalId.toLowerCase() !== profile.code.toLowerCase()) {
        throw fileRefused(
          raw.where,
          `record ${n} has external_id ${externalId.slice(0, 64)}, not this profile's code ${profile.code}: ` +
            'the file is for another SIS profile or institution',
        );
      }
      const head = JSON.stringify({ n, line: raw.line, where: raw.where });
      let text: string;
      if (raw.input) {
        const input = JSON.stringify(raw.input);
        text = `${head.slice(0, -1)},"hash":"${hashOf(input)}","input":${input}}`;
      } else text = `${head.slice(0, -1)},"error":${JSON.stringify(raw.error ?? 'unreadable record')}}`;
      if (!out.write(`${text}\n`)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  if (n === 0) throw fileRefused(displayName, 'the file holds no user records');
  return { total: n };
}

export async function* readSpool(spoolPath: string): AsyncGenerator<SpoolRecord> {
  const text = utf8Text(createReadStream(spoolPath, { highWaterMark: 256 * 1024 }), 'spool');
  for await (const { text: line } of textLines(text, 'spool', 64 << 20)) {
    if (line) yield JSON.parse(line) as SpoolRecord;
  }
}
