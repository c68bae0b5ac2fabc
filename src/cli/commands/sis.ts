// `carrel import` and `carrel export`: an SIS load or an export run as a job in this process,
// with a progress bar (also in CI logs: no TTY needed). The job is in the database like any
// other: `import` of the same file after a crash or Ctrl-C resumes the unfinished job where its
// last batch committed, instead of starting another.
//
// Exit codes of `import`: 0 every record applied (or skipped by rule); 2 the load ran but some
// records failed (see the report); 1 the file was refused or the job failed.
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { once } from 'node:events';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { App } from '../../app.js';
import type { Actor } from '../../domain/access/actor.js';
import { sha256OfStream } from '../../domain/jobs/file-store.js';
import type { Job } from '../../model/job.js';
import { sisCountersOf } from '../../model/sis-load.js';
import { createWorker } from '../../domain/jobs/worker.js';
import { AppError } from '../../errors.js';
import { withApp } from '../context.js';

const CONTENT_TYPES: Record<string, string> = { '.zip': 'application/zip', '.xml': 'application/xml', '.csv': 'text/csv', '.jsonl': 'application/x-ndjson' };
const LEASE_SECONDS = 30;

function progressBar(label: string) {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {percentage}% {value}/{total} records | created {created} updated {updated} unchanged {unchanged} skipped {skipped} failed {failed}`,
      noTTYOutput: true,
      notTTYSchedule: 1000,
      hideCursor: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(job: Job) {
      if (job.total === null) return;
      const c = sisCountersOf(job.counters);
      const payload = { created: c.created, updated: c.updated, unchanged: c.unchanged, skipped: c.skipped, failed: c.failed };
      if (!started) {
        bar.start(job.total, c.read, payload);
        started = true;
      } else bar.update(c.read, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Runs a job here, with its bar; Ctrl-C hands the job back to the queue at the next batch. */
async function runHere(
  app: App,
  start: (worker: ReturnType<typeof createWorker>, onProgress: (job: Job) => void) => Promise<Job>,
  label: string,
): Promise<Job> {
  const worker = createWorker({ db: app.db, kinds: app.jobKinds, leaseSeconds: LEASE_SECONDS });
  const bar = progressBar(label);
  const interrupt = () => {
    process.stderr.write('\ninterrupted: stopping at the next batch (run the same command again to resume)\n');
    void worker.stop();
  };
  process.once('SIGINT', interrupt);
  try {
    return await start(worker, (job) => bar.update(job));
  } finally {
    process.off('SIGINT', interrupt);
    bar.stop();
  }
}

export function sisCommands(program: Command): void {
  program
    .command('import <file>')
    .description('load an SIS file (Alma user XML, zipped or not; CSV; JSON lines) through an integration profile')
    .requiredOption('--institution <code>', 'institution to load into')
    .requiredOption('--profile <code>', 'integration profile (its format, match id and rules)')
    .option('--dry-run', 'report and diff only; write nothing')
    .option('--deactivate-missing', "deactivate the profile's users missing from this full file")
    .action(async (file: string, opts: { institution: string; profile: string; dryRun?: boolean; deactivateMissing?: boolean }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const actor: Actor = { kind: 'system', label: `cli import (${process.env.USER ?? 'operator'})` };
        const inst = await app.services.institutions.byCode(opts.institution);
        const size = (await stat(file)).size;
        const sha256 = await sha256OfStream(createReadStream(file));
        const dryRun = opts.dryRun === true;
        process.stdout.write(`reading ${basename(file)} (${(size / 1048576).toFixed(1)} MiB)${dryRun ? ', dry run' : ''}\n`);
        const resumable = await app.services.sis.findResumableLoad(actor, inst.id, opts.profile, sha256, dryRun);
        const ran = await runHere(app, async (worker, onProgress) => {
          if (resumable) {
            process.stdout.write(`resuming job ${resumable.id}: ${resumable.counters.read} of ${resumable.total ?? '?'} records already applied\n`);
            const job = await worker.runJobById(resumable.id, onProgress);
            if (!job) throw new AppError('CONFLICT', { reason: `Job ${resumable.id} for this file is running in another process (${resumable.lockedBy}).` });
            return job;
          }
          const job = await app.services.sis.startLoad(actor, inst.id, opts.profile, createReadStream(file), {
            fileName: basename(file),
            contentType: CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
            dryRun,
            deactivateMissing: opts.deactivateMissing === true,
            claimedBy: { workerId: worker.workerId, leaseSeconds: LEASE_SECONDS },
          });
          process.stdout.write(`job ${job.id}\n`);
          await worker.run(job, onProgress);
          return job;
        }, dryRun ? 'dry run' : 'loading');
        await printLoadSummary(app, actor, inst.id, ran.id);
      }),
    );

  program
    .command('export')
    .description('export users as Alma user XML (plain or zipped) or CSV')
    .requiredOption('--institution <code>', 'institution to export from')
    .requiredOption('--format <format>', 'xml or csv')
    .requiredOption('--out <file>', 'file to write (a .zip name zips it)')
    .option('--since <date>', 'only users changed on or after this date (YYYY-MM-DD)')
    .option('--profile <code>', 'only the users of this SIS profile (CSV uses its mapping)')
    .option('--group <code>', 'only users of this user group')
    .action(async (opts: { institution: string; format: string; out: string; since?: string; profile?: string; group?: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const actor: Actor = { kind: 'system', label: `cli export (${process.env.USER ?? 'operator'})` };
        const inst = await app.services.institutions.byCode(opts.institution);
        const ran = await runHere(app, async (worker, onProgress) => {
          const job = await app.services.sis.startExport(actor, inst.id, {
            format: opts.format as 'xml' | 'csv',
            zip: opts.out.toLowerCase().endsWith('.zip'),
            since: opts.since,
            profileCode: opts.profile,
            userGroup: opts.group,
            claimedBy: { workerId: worker.workerId, leaseSeconds: LEASE_SECONDS },
          });
          await worker.run(job, onProgress);
          return job;
        }, 'exporting');
        const job = await app.services.jobs.get(actor, inst.id, ran.id);
        if (job.status !== 'succeeded') throw new AppError('CONFLICT', { reason: `export ${job.status}: ${job.error ?? ''}` });
        const { content, file } = await app.services.jobs.result(actor, inst.id, job.id);
        const out = createWriteStream(opts.out);
        for await (const chunk of content) if (!out.write(chunk)) await once(out, 'drain');
        out.end();
        await once(out, 'close');
        process.stdout.write(`exported ${String(job.result?.users ?? 0)} users to ${opts.out} (${file.size} bytes)\n`);
      }),
    );
}

async function printLoadSummary(app: App, actor: Actor, institutionId: string, jobId: string): Promise<void> {
  const job = await app.services.jobs.get(actor, institutionId, jobId);
  const c = sisCountersOf(job.counters);
  const seconds = job.startedAt && job.finishedAt ? ((job.finishedAt.getTime() - job.startedAt.getTime()) / 1000).toFixed(1) : '?';
  const lines = [
    `job ${job.id} ${job.status}${job.dryRun ? ' (dry run: nothing written)' : ''} in ${seconds} s`,
    `  records ${c.read}/${job.total ?? '?'}: created ${c.created}, updated ${c.updated}, unchanged ${c.unchanged}, skipped ${c.skipped}, failed ${c.failed}`,
  ];
  if (job.result?.deactivated !== undefined) lines.push(`  deactivated (missing from the file): ${String(job.result.deactivated)}`);
  if (job.result?.deactivateRefused) lines.push(`  not deactivated: ${String(job.result.deactivateRefused)}`);
  if (job.error) lines.push(`  ${job.error}`);
  let shown = 0;
  for await (const e of app.services.jobs.errors(actor, institutionId, jobId)) {
    if (shown++ === 20) {
      lines.push(`  ... the full report: GET /api/v1/jobs/${jobId}/errors`);
      break;
    }
    lines.push(`  record ${e.recordNumber}${e.line ? ` (line ${e.line})` : ''} ${e.identifier ?? ''}: ${e.outcome}: ${e.reason}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (job.status !== 'succeeded') process.exitCode = 1;
  else if (c.failed > 0) process.exitCode = 2;
}
