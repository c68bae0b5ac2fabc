// Drop folders: campus IT (S)FTPs the nightly file into a profile's folder; the worker polls it
// every poll_seconds and loads each file it finds. A file is taken once it has stopped changing
// (settleSeconds, default 10: an upload in progress is left alone), by renaming it into
// processing/, which is atomic, so two workers sharing the folder never take the same file. Its
// job moves it on to processed/ or failed/ when it ends. A file left in processing/ without a
// job ten minutes on (the poller died between the rename and the enqueue) is enqueued then.
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Db } from '../../db/database.js';
import { listProfilesWithDropFolder } from '../../db/queries/integration-profiles.js';
import { hasJobForDropFile } from '../../db/queries/sis-load-progress.js';
import type { Actor } from '../access/actor.js';
import type { IntegrationProfile } from '../../model/profile.js';
import type { SisService } from './sis-service.js';

const CONTENT_TYPES: Record<string, string> = {
  '.zip': 'application/zip',
  '.xml': 'application/xml',
  '.csv': 'text/csv',
  '.jsonl': 'application/x-ndjson',
  '.ndjson': 'application/x-ndjson',
};
const ORPHAN_AFTER_MS = 10 * 60_000;
const IN_PROGRESS = /\.(part|tmp|filepart|crdownload)$/i;

export interface DropFolderDeps {
  db: Db;
  sis: SisService;
  now?: () => number;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

export function createDropFolderPoller({ db, sis, now = Date.now, log = () => {} }: DropFolderDeps) {
  const lastPoll = new Map<string, number>();

  async function enqueue(profile: IntegrationProfile, path: string, name: string): Promise<void> {
    const actor: Actor = { kind: 'system', label: `sis:${profile.code} drop folder` };
    const job = await sis.startLoad(actor, profile.institutionId, profile.code, createReadStream(path), {
      fileName: name,
      contentType: CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
      dryRun: false,
      dropFile: path,
    });
    log('drop folder file enqueued', { profile: profile.code, file: name, jobId: job.id });
  }

  /** Takes the settled files of one profile's folder; returns how many it enqueued. */
  async function pollProfile(profile: IntegrationProfile): Promise<number> {
    const folder = profile.dropFolder!;
    if (!existsSync(folder)) return 0;
    const processing = join(folder, 'processing');
    await mkdir(processing, { recursive: true });
    const settleMs = (profile.settings.settleSeconds ?? 10) * 1000;
    let taken = 0;
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name.startsWith('.') || IN_PROGRESS.test(entry.name)) continue;
      const path = join(folder, entry.name);
      const info = await stat(path).catch(() => undefined);
      if (!info || now() - info.mtimeMs < settleMs) continue;
      const target = join(processing, `${new Date(now()).toISOString().replace(/[:.]/g, '-')}_${entry.name}`);
      try {
        await rename(path, target);
      } catch {
        continue; // another worker took it first
      }
      await enqueue(profile, target, entry.name);
      taken++;
    }
    for (const name of await readdir(processing)) {
      const path = join(processing, name);
      // ctime is the rename: a file another worker took a moment ago may not have its job yet.
      const info = await stat(path).catch(() => undefined);
      if (!info || now() - info.ctimeMs < ORPHAN_AFTER_MS) continue;
      if (!(await hasJobForDropFile(db, path))) await enqueue(profile, path, name.replace(/^[^_]*_/, ''));
    }
    return taken;
  }

  return {
    pollProfile,
    /** Polls every profile whose poll interval has passed (the worker calls this when idle). */
    async poll(): Promise<void> {
      for (const profile of await listProfilesWithDropFolder(db)) {
        const last = lastPoll.get(profile.id) ?? 0;
        if (now() - last < profile.pollSeconds * 1000) continue;
        lastPoll.set(profile.id, now());
        try {
          await pollProfile(profile);
        } catch (err) {
          log('drop folder poll failed', { profile: profile.code, error: (err as Error).message });
        }
      }
    },
  };
}
