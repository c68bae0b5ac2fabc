// Files a job reads or writes, kept in the database in 1 MiB chunks: an upload streams in and an
// export streams out in constant memory, and a worker on any machine (or a restarted process on
// the embedded database) finds the file where the job left it. Each chunk is its own short
// statement, so PGlite's single connection is never held for a whole file.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Db } from '../../db/database.js';
import { completeFile, findChunk, insertChunk, insertFile, type JobFile } from '../../db/queries/job-files.js';
import { AppError } from '../../errors.js';

export const CHUNK_BYTES = 1 << 20;

export interface StoredFile {
  id: string;
  size: number;
  sha256: string;
}

export interface FileMeta {
  institutionId: string;
  jobId: string | null;
  role: JobFile['role'];
  name: string;
  contentType: string;
}

export interface FileWriter {
  write(data: Uint8Array): Promise<void>;
  end(): Promise<StoredFile>;
}

export function createFileStore(db: Db) {
  async function writer(meta: FileMeta, maxBytes = Number.MAX_SAFE_INTEGER): Promise<FileWriter> {
    const file = await insertFile(db, meta);
    const hash = createHash('sha256');
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let size = 0;
    let seq = 0;
    const flush = async () => {
      if (!pendingBytes) return;
      const data = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await insertChunk(db, file.id, seq++, data);
    };
    return {
      async write(data) {
        size += data.byteLength;
        if (size > maxBytes) {
          await db.query('DELETE FROM job_file WHERE id = $1', [file.id]);
          throw new AppError('BODY_TOO_LARGE', { limit: maxBytes });
        }
        hash.update(data);
        let buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        while (buf.length) {
          const room = CHUNK_BYTES - pendingBytes;
          const piece = buf.subarray(0, room);
          // Copied: the caller may reuse its buffer once write() returns.
          pending.push(Buffer.from(piece));
          pendingBytes += piece.length;
          buf = buf.subarray(piece.length);
          if (pendingBytes === CHUNK_BYTES) await flush();
        }
      },
      async end() {
        await flush();
        const sha256 = hash.digest('hex');
        await completeFile(db, file.id, size, sha256);
        return { id: file.id, size, sha256 };
      },
    };
  }

  async function* read(fileId: string): AsyncGenerator<Buffer> {
    for (let seq = 0; ; seq++) {
      const chunk = await findChunk(db, fileId, seq);
      if (!chunk) return;
      yield chunk;
    }
  }

  return {
    writer,

    /** Streams `source` into a new file; refused (and removed) past maxBytes. */
    async store(source: AsyncIterable<Uint8Array>, meta: FileMeta, maxBytes?: number): Promise<StoredFile> {
      const w = await writer(meta, maxBytes);
      for await (const data of source) await w.write(data);
      return w.end();
    },

    read,

    /** Copies a stored file to a local path (a zip needs random access to its directory). */
    async copyToPath(fileId: string, path: string): Promise<void> {
      const out = createWriteStream(path);
      try {
        for await (const chunk of read(fileId)) if (!out.write(chunk)) await once(out, 'drain');
      } finally {
        out.end();
        await once(out, 'close');
      }
    },
  };
}

export type FileStore = ReturnType<typeof createFileStore>;

/** SHA-256 of a local file, streamed. */
export async function sha256OfStream(source: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const data of source) hash.update(data);
  return hash.digest('hex');
}
