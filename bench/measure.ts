// What a load run measured, summed up: the CPU it cost by whom, the median of paired rounds, and
// the check that every answer was a success.
import { availableParallelism } from 'node:os';
import type { LoadResult } from './load.js';
import { cpuSnapshot, cpuUsed, type ProcCpu } from './procs.js';
import type { Measured, Rounds } from './report.js';

/** A load run with the CPU it cost, per request, by whom: the server, PostgreSQL, autocannon, the rest. */
export interface CpuShare {
  cpuMsPerRequest: Measured['cpuMsPerRequest'];
  otherBusy: number;
}

/** Runs a load and adds the CPU it cost, per request, by whom: the server, PostgreSQL, the load generator, the rest. */
export async function withCpu<R extends { requests: number; seconds: number }>(benchDb: string, serverPid: number, run: () => Promise<R>): Promise<R & CpuShare> {
  const before = cpuSnapshot();
  const result = await run();
  const after = cpuSnapshot();
  const perRequest = (which: (pid: number, p: ProcCpu) => boolean) =>
    Math.round((cpuUsed(before, after, (pid, _comm, p) => which(pid, p)) * 1e6) / Math.max(1, result.requests)) / 1000;
  // PostgreSQL backends serving the bench database; others' test databases count as "other".
  const ours = (pid: number, p: ProcCpu) =>
    pid === serverPid || pid === process.pid || (p.comm === 'postgres' && p.title.includes(` ${benchDb} `));
  const otherSeconds = cpuUsed(before, after, (pid, _comm, p) => !ours(pid, p));
  return {
    ...result,
    otherBusy: Math.round((otherSeconds / (result.seconds * availableParallelism())) * 1000) / 1000,
    cpuMsPerRequest: {
      server: perRequest((pid) => pid === serverPid),
      postgres: perRequest((_pid, p) => p.comm === 'postgres' && p.title.includes(` ${benchDb} `)),
      loadGenerator: perRequest((pid) => pid === process.pid),
      other: perRequest((pid, p) => !ours(pid, p)),
    },
  };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

export function summarize(rounds: Measured[]): Rounds {
  const pick = (f: (r: LoadResult) => number) => median(rounds.map(f));
  return { rps: pick((r) => r.rps), p50: pick((r) => r.latency.p50), p99: pick((r) => r.latency.p99), rounds };
}

export function assertClean(what: string, r: LoadResult): void {
  if (r.non2xx || r.errors) throw new Error(`${what}: ${r.non2xx} non-2xx, ${r.errors} errors ${JSON.stringify(r.statusCodes)}`);
}
