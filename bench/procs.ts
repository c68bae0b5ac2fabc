// Child processes of a benchmark run: started, waited for, measured, and always stopped, also
// when the run fails or is interrupted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const running = new Set<ChildProcess>();

function killAll(): void {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

export interface Child {
  pid: number;
  /** The last lines the child wrote, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL if it has not exited after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  env?: NodeJS.ProcessEnv;
  /** Resolves when a line of stdout matches; the match is returned. */
  ready: RegExp;
  timeoutMs?: number;
}

export function start(command: string, args: string[], opts: StartOptions): Promise<{ child: Child; match: RegExpMatchArray }> {
  const proc = spawn(command, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  const lines: string[] = [];
  let stopping = false;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  exited.then(() => running.delete(proc));
  const child: Child = {
    pid: proc.pid ?? 0,
    tail: () => lines.slice(-30).join('\n'),
    async stop(graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      stopping = true;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => {
      void child.stop(1000);
      reject(new Error(`${opts.name} did not start within ${opts.timeoutMs ?? 60_000} ms:\n${child.tail()}`));
    }, opts.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        const match = opts.ready.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve({ child, match });
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      // A server that dies mid-run would otherwise surface only as a refused connection.
      if (!stopping) console.error(`${opts.name} (pid ${proc.pid}) exited (${signal ?? code}); its last lines:\n${child.tail()}`);
      reject(new Error(`${opts.name} exited (${signal ?? code}) before it was ready:\n${child.tail()}`));
    });
  });
}

/** Runs a command to completion with a time limit; throws with its output when it fails. */
export function runToEnd(command: string, args: string[], timeoutMs: number): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.signal ?? r.status}):\n${output.slice(-4000)}`);
  return output;
}

/** Resident and peak resident memory of a process, in MB, from /proc. */
export function memoryOf(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((s, v) => s + v, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share of all CPUs busy over the next `ms` (0..1), whoever is using them. */
export async function cpuBusy(ms: number): Promise<number> {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  return (b.busy - a.busy) / Math.max(1, b.total - a.total);
}

/**
 * Waits until the machine is quiet (others' test runs share these 2 cores): CPU under `threshold`
 * busy over 2 s, or `maxWaitMs` gone. Returns the last busy share seen, to be recorded.
 */
export async function waitQuiet(threshold: number, maxWaitMs: number, log: (s: string) => void): Promise<number> {
  const until = Date.now() + maxWaitMs;
  let busy = await cpuBusy(2000);
  if (busy >= threshold) log(`  waiting for a quiet machine (${Math.round(busy * 100)}% CPU busy)`);
  while (busy >= threshold && Date.now() < until) busy = await cpuBusy(2000);
  if (busy >= threshold) log(`  still ${Math.round(busy * 100)}% busy after ${Math.round(maxWaitMs / 1000)} s; measuring anyway`);
  return busy;
}

export interface ProcCpu {
  comm: string;
  /** PostgreSQL backends only: their title, e.g. `postgres: 15/main: postgres carrel_bench 127.0.0.1(5432) idle`. */
  title: string;
  seconds: number;
}

/** CPU seconds used so far by every process, by pid, with its command name. */
export function cpuSnapshot(): Map<number, ProcCpu> {
  const snap = new Map<number, ProcCpu>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      // utime and stime, fields 14 and 15 of proc(5), in clock ticks of 1/100 s.
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const title = comm === 'postgres' ? readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() : '';
      snap.set(Number(entry), { comm, title, seconds: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return snap;
}

/** CPU seconds used between two snapshots by the processes `which` selects (ended ones drop out). */
export function cpuUsed(
  a: Map<number, ProcCpu>,
  b: Map<number, ProcCpu>,
  which: (pid: number, comm: string, p: ProcCpu) => boolean,
): number {
  let total = 0;
  for (const [pid, after] of b) {
    if (!which(pid, after.comm, after)) continue;
    total += after.seconds - (a.get(pid)?.seconds ?? 0);
  }
  return total;
}
