// `carrel outage`: the SSO-outage procedure from the command line, run as jobs in this process
// (the same jobs as POST /api/v1/outage/toggle and /jobs/{id}/revert; domain/identity/outage.ts).
//   carrel outage toggle --institution INST (--users a,b | --record-type STAFF [--user-group G] [--role R])
//                        (--links | --temporary-passwords --csv FILE)
//   carrel outage revert JOB --institution INST
//   carrel outage passwords JOB --institution INST --token TOKEN --csv FILE   (if toggle could not write it)
//   carrel outage break-glass USER --institution INST [--off]
// The CSV of temporary passwords is written once, readable by its owner only, and never printed.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { App } from '../../app.js';
import type { Actor } from '../../domain/access/actor.js';
import { createWorker } from '../../domain/jobs/worker.js';
import { AppError } from '../../errors.js';
import type { Job } from '../../model/job.js';
import { withApp } from '../context.js';

const LEASE_SECONDS = 30;
const actor = (what: string): Actor => ({ kind: 'system', label: `cli outage ${what} (${process.env.USER ?? 'operator'})` });

async function runHere(app: App, start: (claimedBy: { workerId: string; leaseSeconds: number }) => Promise<Job>): Promise<Job> {
  const worker = createWorker({ db: app.db, kinds: app.jobKinds, leaseSeconds: LEASE_SECONDS });
  const interrupt = () => {
    process.stderr.write('\ninterrupted: stopping after the current user (a worker resumes the job)\n');
    void worker.stop();
  };
  process.once('SIGINT', interrupt);
  try {
    const job = await start({ workerId: worker.workerId, leaseSeconds: LEASE_SECONDS });
    process.stdout.write(`job ${job.id}\n`);
    await worker.run(job);
    return job;
  } finally {
    process.off('SIGINT', interrupt);
  }
}

function summary(job: Job): string {
  return `${job.kind} ${job.id}: ${job.status}; ${Object.entries(job.counters).map(([k, v]) => `${k} ${v}`).join(', ')}${job.error ? `; ${job.error}` : ''}`;
}

async function writeCsvOnce(path: string, csv: string): Promise<void> {
  // 'wx': never over an existing file; 0600: the passwords are for the admin alone.
  await writeFile(path, csv, { flag: 'wx', mode: 0o600 });
}

export function outageCommands(program: Command): void {
  const outage = program.command('outage').description('the SSO-outage procedure: toggle staff to local passwords, and back');

  outage
    .command('toggle')
    .description('toggle a set of EXTERNAL staff to INTERNAL, as one job')
    .requiredOption('--institution <code>', 'institution')
    .option('--users <ids>', 'primary ids or identifiers, comma-separated')
    .option('--record-type <type>', 'query: record type (e.g. STAFF)')
    .option('--user-group <code>', 'query: user group')
    .option('--role <code>', 'query: a role type the user holds (e.g. 50)')
    .option('--links', 'e-mail each user a set-password link')
    .option('--temporary-passwords', 'give each a temporary password (forced change), written to --csv')
    .option('--csv <file>', 'where the temporary passwords go (created, mode 0600; never overwritten)')
    .action(async (o: { institution: string; users?: string; recordType?: string; userGroup?: string; role?: string; links?: boolean; temporaryPasswords?: boolean; csv?: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        if (!o.links === !o.temporaryPasswords) throw new AppError('INVALID_PARAMETER', { reason: 'choose --links or --temporary-passwords' });
        if (o.temporaryPasswords && !o.csv) throw new AppError('INVALID_PARAMETER', { reason: '--temporary-passwords needs --csv FILE' });
        // Before anything is toggled: the passwords could not be written afterwards.
        if (o.csv && existsSync(o.csv)) throw new AppError('CONFLICT', { reason: `${o.csv} exists already; name a new file` });
        const inst = await app.services.institutions.byCode(o.institution);
        const query = o.recordType || o.userGroup || o.role ? { recordType: o.recordType, userGroup: o.userGroup, role: o.role } : undefined;
        const userIds = o.users?.split(',').map((s) => s.trim()).filter(Boolean);
        let token: string | undefined;
        const ran = await runHere(app, async (claimedBy) => {
          const started = await app.services.outage.startToggle(actor('toggle'), inst.id, { userIds, query, method: o.links ? 'link' : 'temporary_password' }, claimedBy);
          token = started.downloadToken;
          return started.job;
        });
        const job = await app.services.jobs.get(actor('toggle'), inst.id, ran.id);
        console.log(summary(job));
        if (token && o.csv) {
          if (job.status === 'succeeded') {
            await writeCsvOnce(o.csv, await app.services.outage.downloadPasswords(actor('toggle'), inst.id, job.id, token));
            console.log(`temporary passwords written to ${o.csv} (once: they are gone from Carrel now)`);
          } else {
            // The job goes on in a worker; the passwords can still be fetched once when it ends.
            process.stderr.write(`the job did not finish here; when it has: carrel outage passwords ${job.id} --institution ${inst.code} --token ${token} --csv ${o.csv}\n`);
          }
        }
        console.log(`to revert: carrel outage revert ${job.id} --institution ${inst.code}`);
        if (job.status !== 'succeeded') process.exitCode = 1;
      }),
    );

  outage
    .command('revert <job>')
    .description('toggle back everyone that toggle job toggled (and is still INTERNAL from it)')
    .requiredOption('--institution <code>', 'institution')
    .action(async (jobId: string, o: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        const ran = await runHere(app, (claimedBy) => app.services.outage.revert(actor('revert'), inst.id, jobId, claimedBy));
        const job = await app.services.jobs.get(actor('revert'), inst.id, ran.id);
        console.log(summary(job));
        if (job.status !== 'succeeded') process.exitCode = 1;
      }),
    );

  outage
    .command('passwords <job>')
    .description("write a finished toggle job's temporary passwords to a CSV file, once")
    .requiredOption('--institution <code>', 'institution')
    .requiredOption('--token <token>', 'the download token given when the job started')
    .requiredOption('--csv <file>', 'file to create (mode 0600)')
    .action(async (jobId: string, o: { institution: string; token: string; csv: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        await writeCsvOnce(o.csv, await app.services.outage.downloadPasswords(actor('passwords'), inst.id, jobId, o.token));
        console.log(`temporary passwords written to ${o.csv}`);
      }),
    );

  outage
    .command('break-glass <user>')
    .description("mark a user as a break-glass account: every sign-in e-mails the network's breakGlassNotify")
    .requiredOption('--institution <code>', 'institution')
    .option('--off', 'unmark')
    .action(async (user: string, o: { institution: string; off?: boolean }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        await app.services.identity.breakGlass.setBreakGlass(actor('break-glass'), inst.id, user, o.off !== true);
        console.log(`${user}: break-glass ${o.off ? 'off' : 'on'}`);
      }),
    );
}
