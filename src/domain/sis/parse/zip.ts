// The entries of a zip, streamed one after the other (yauzl reads the central directory, so a
// truncated zip is refused before any entry is read). Folders, macOS resource forks and hidden
// files are left out; an entry that inflates far beyond its size is a zip bomb and refused.
//
// yauzl gives the entry's bytes as stored; they are inflated here, in 64 kB pieces: yauzl's own
// inflate (zlib's 16 kB pieces and a counting stream after it) cost a fifth more CPU on a 133 MB
// entry (bench/README.md), CPU an SIS load takes from the API beside it. So the checks yauzl
// made are made here too: the CRC-32 and the size the zip states, which the zip-bomb check
// trusts (an entry that holds more is refused as soon as it does).
import { pipeline, type Readable } from 'node:stream';
import { crc32, createInflateRaw } from 'node:zlib';
import yauzl from 'yauzl';
import { fileRefused } from './text.js';

const MAX_RATIO = 200;
const MAX_TOTAL_BYTES = 16 * 1024 ** 3;
const INFLATE_CHUNK = 64 * 1024;
const STORED = 0;
const DEFLATED = 8;

export interface ZipEntry {
  name: string;
  bytes: Readable;
}

function open(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false }, (err, zip) =>
      err ? reject(err) : resolve(zip),
    ),
  );
}

export async function* zipEntries(path: string, fileName: string): AsyncGenerator<ZipEntry> {
  let zip: yauzl.ZipFile;
  try {
    zip = await open(path);
  } catch (err) {
    throw fileRefused(fileName, `not a complete zip file (truncated or damaged?): ${(err as Error).message}`);
  }
  let total = 0;
  try {
    for (;;) {
      const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
        const onEntry = (e: yauzl.Entry) => done(() => resolve(e));
        const onEnd = () => done(() => resolve(null));
        const onError = (e: Error) => done(() => reject(fileRefused(fileName, `damaged zip file: ${e.message}`)));
        const done = (f: () => void) => {
          zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
          f();
        };
        zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
        zip.readEntry();
      });
      if (!entry) return;
      const name = entry.fileName;
      const base = name.split('/').at(-1) ?? '';
      if (name.endsWith('/') || name.startsWith('__MACOSX/') || base.startsWith('.')) continue;
      if (entry.isEncrypted()) throw fileRefused(`${fileName}:${name}`, 'encrypted zip entries are not supported');
      total += entry.uncompressedSize;
      if (entry.uncompressedSize > MAX_RATIO * Math.max(entry.compressedSize, 1024) || total > MAX_TOTAL_BYTES) {
        throw fileRefused(`${fileName}:${name}`, 'the entry inflates far beyond its compressed size (a zip bomb?)');
      }
      const method = entry.compressionMethod;
      if (method !== STORED && method !== DEFLATED) throw fileRefused(`${fileName}:${name}`, `compression method ${method} is not supported (store or deflate)`);
      const stored = await new Promise<Readable>((resolve, reject) =>
        zip.openReadStream(entry, { decodeFileData: false }, (err, stream) => (err ? reject(fileRefused(`${fileName}:${name}`, err.message)) : resolve(stream))),
      );
      const bytes = method === STORED ? stored : pipeline(stored, createInflateRaw({ chunkSize: INFLATE_CHUNK }), () => {});
      // Errors while inflating (a damaged entry) surface through the stream's iteration.
      bytes.on('error', () => {});
      yield { name, bytes: checked(bytes, `${fileName}:${name}`, entry.crc32, entry.uncompressedSize) };
      // The reader must have consumed the entry before the next one is read.
      if (!bytes.readableEnded) bytes.destroy();
    }
  } finally {
    zip.close();
  }
}

/**
 * The entry's bytes, refusing the file when inflating fails, when they run past the size the zip
 * states or stop short of it, or when their CRC-32 does not match.
 */
function checked(stream: Readable, where: string, expectedCrc: number, expectedSize: number): Readable {
  const original = stream[Symbol.asyncIterator].bind(stream);
  stream[Symbol.asyncIterator] = async function* () {
    let crc = 0;
    let size = 0;
    try {
      for await (const chunk of original()) {
        size += (chunk as Buffer).length;
        if (size > expectedSize) throw new Error(`it holds more than the ${expectedSize} bytes the zip states`);
        crc = crc32(chunk as Buffer, crc);
        yield chunk;
      }
    } catch (err) {
      throw fileRefused(where, `damaged zip entry: ${(err as Error).message}`);
    }
    if (size !== expectedSize) throw fileRefused(where, `damaged zip entry: it holds ${size} bytes, not the ${expectedSize} the zip states`);
    if (crc >>> 0 !== expectedCrc >>> 0) throw fileRefused(where, 'damaged zip entry: its CRC-32 does not match its content');
  } as (typeof stream)[typeof Symbol.asyncIterator];
  return stream;
}
