// `carrel worker`: the job worker alone (loads, exports, drop folders), until SIGINT or SIGTERM.
// `carrel serve` runs the same worker beside the HTTP server unless given --no-worker.
import type { Command } from 'commander';
import { createApp, type App } from '../../app.js';
import { createWorker, type Worker, type WorkerLog } from '../../domain/jobs/worker.js';
import { configFrom } from '../context.js';

export type Log = WorkerLog;

/** Starts the queue worker of this process; drop folders are polled (and housekeeping done) when the queue is empty. */
export function startWorker(app: App, log: Log): Worker {
  const worker = createWorker({
    db: app.db,
    kinds: app.jobKinds,
    pollMs: app.config.workerPollMs,
    idle: app.workerIdle,
    log,
  });
  worker.start();
  return worker;
}

export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description('run the job worker (SIS loads, exports, drop folders) without the HTTP server')
    .action(async (_opts: unknown, cmd: Command) => {
      const app = await createApp(configFrom(cmd), { authenticatesKeys: false });
      const log: Log = (msg, extra, level = 'info') => console.log(JSON.stringify({ time: new Date().toISOString(), level, msg, ...extra }));
      const worker = startWorker(app, log);
      log('worker started', { workerId: worker.workerId });
      let closing = false;
      const shutdown = async () => {
        if (closing) return;
        closing = true;
        // A running job is handed back to the queue at its next batch boundary.
        await worker.stop();
        await app.close();
        log('worker stopped');
      };
      process.once('SIGINT', () => void shutdown());
      process.once('SIGTERM', () => void shutdown());
    });
}
