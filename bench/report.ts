// The machine a run happened on, and the one table that sums a run up against the targets.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import type { BareResult } from './bare.js';
import type { Latency, LoadResult, PacedResult } from './load.js';

export interface Measured extends LoadResult {
  /** Share of all CPUs that processes other than the server, PostgreSQL and autocannon used. */
  otherBusy: number;
  /** CPU milliseconds per request spent by the server process, PostgreSQL, autocannon and everything else. */
  cpuMsPerRequest: { server: number; postgres: number; loadGenerator: number; other: number };
}

/** Alternating load rounds of one server: medians, and every round as measured. */
export interface Rounds {
  rps: number;
  p50: number;
  p99: number;
  rounds: Measured[];
}

export interface EngineResult {
  engine: 'postgres' | 'pglite';
  serverVersion: string;
  users: number;
  smiMatches: number;
  bare: BareResult;
  thin: Rounds & { rssMb: number };
  lookup: Rounds;
  /** Median over the rounds of Carrel req/s divided by the thin server's in the same round. */
  ratio: number;
  /** Open-loop load at 70% of the thin server's rate, on Carrel and (for reference) the thin server. */
  /** 1,000 GETs one after another on one connection: latency without queueing. */
  oneAtATime: { thin: Latency; carrel: Latency };
  paced: { carrel: PacedResult & Pick<Measured, 'cpuMsPerRequest' | 'otherBusy'>; thin: PacedResult & Pick<Measured, 'cpuMsPerRequest' | 'otherBusy'> };
  searchSequential: Latency;
  /** Issue 8: each brief search, one at a time (the first is last_name~smi, as searchSequential). */
  searches?: { path: string; matches: number; latency: Latency }[];
  searchLoad: LoadResult;
  /**
   * Issue 8 (PostgreSQL only): the reference server that sends Carrel's own documents ready-made,
   * by one indexed select, loaded in the same rounds. Ratios are medians of the per-round ratios.
   */
  reference?: {
    docs: { docs: number; jsonBytes: number; xmlBytes: number };
    json: Rounds;
    xml: Rounds;
    carrelXml: Rounds;
    jsonRatio: number;
    xmlRatio: number;
    jsonP99Ratio: number;
    xmlP99Ratio: number;
  };
  memory: { startRssMb: number; idleRssMb: number; afterLoadRssMb: number; peakRssMb: number };
  /** Share of CPU busy (others' work) seen just before the bare loop, each round, and the search. */
  cpuBusyBeforePhases: number[];
}

export interface RunResult {
  at: string;
  machine: Record<string, string | number>;
  options: Record<string, unknown>;
  buildNotes: string[];
  engines: EngineResult[];
}

export function machineInfo(): Record<string, string | number> {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  let os = 'unknown';
  try {
    os = /^PRETTY_NAME="(.+)"$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {}
  let kernel = 'unknown';
  try {
    kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  } catch {}
  return { cpus: availableParallelism(), cpu, ramGb: Math.round(totalmem() / 2 ** 30), os, kernel, node: process.version };
}

/** Targets from the issue; they apply on PostgreSQL. PGlite figures are shown beside them. */
const TARGETS = {
  ratio: 0.7,
  p99Ms: 10,
  searchP95Ms: 50,
  idleRssMb: 150,
  refJsonRatio: 0.6,
  refXmlRatio: 0.4,
  refP99Ratio: 1.5,
};

const refRow = (label: string, value: (r: NonNullable<EngineResult['reference']>) => string, target?: string, pass?: (r: NonNullable<EngineResult['reference']>) => boolean): Row => ({
  label,
  value: (e) => (e.reference ? value(e.reference) : ''),
  ...(target ? { target } : {}),
  ...(pass ? { pass: (e: EngineResult) => (e.reference ? pass(e.reference) : false) } : {}),
});

const searchRow = (i: number): Row => ({
  label: `search ${SEARCH_LABELS[i]} p95, sequential (ms)`,
  value: (e) => {
    const s = e.searches?.[i];
    return s ? `${fmt(s.latency.p95, 2)} (${fmt(s.matches)} hits)` : '';
  },
  target: `< ${TARGETS.searchP95Ms}`,
  pass: (e) => (e.searches?.[i]?.latency.p95 ?? Infinity) < TARGETS.searchP95Ms,
});
const SEARCH_LABELS = ['last_name~smi', 'email~smith', 'ALL~smith'];

interface Row {
  label: string;
  value: (e: EngineResult) => string;
  target?: string;
  pass?: (e: EngineResult) => boolean;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const cpuPair = (rounds: Measured[]) => {
  const last = rounds.at(-1)?.cpuMsPerRequest;
  return last ? `${fmt(last.server, 2)} + ${fmt(last.postgres, 2)}` : '';
};

const cpuTotal = (m: Measured) => m.cpuMsPerRequest.server + m.cpuMsPerRequest.postgres + m.cpuMsPerRequest.loadGenerator;

/**
 * Median over the paired rounds of (thin CPU per request) / (Carrel CPU per request), counting the
 * server, PostgreSQL and autocannon. On a CPU-bound machine this is the throughput ratio to expect,
 * and it barely moves when other people's processes share the CPUs; req/s does.
 */
export function cpuRatio(e: EngineResult): number {
  const ratios = e.lookup.rounds.map((c, i) => cpuTotal(e.thin.rounds[i]!) / cpuTotal(c)).sort((a, b) => a - b);
  return ratios[Math.floor((ratios.length - 1) / 2)] ?? NaN;
}

export const ROWS: Row[] = [
  { label: 'users', value: (e) => fmt(e.users) },
  { label: 'bare pg PK select, sequential (q/s)', value: (e) => fmt(e.bare.sequentialQps) },
  { label: 'bare pg PK select, 32 in flight (q/s)', value: (e) => fmt(e.bare.concurrentQps) },
  { label: 'thin server, 32 conn (req/s)', value: (e) => fmt(e.thin.rps) },
  { label: 'thin server p99 (ms)', value: (e) => fmt(e.thin.p99, 2) },
  { label: 'Carrel GET user, 32 conn (req/s)', value: (e) => fmt(e.lookup.rps) },
  { label: 'Carrel / thin', value: (e) => fmt(e.ratio, 2), target: `>= ${TARGETS.ratio}`, pass: (e) => e.ratio >= TARGETS.ratio },
  { label: 'Carrel GET user p50 (ms)', value: (e) => fmt(e.lookup.p50, 2) },
  { label: 'Carrel GET user p99, 32 conn (ms)', value: (e) => fmt(e.lookup.p99, 2), target: `< ${TARGETS.p99Ms}`, pass: (e) => e.lookup.p99 < TARGETS.p99Ms },
  { label: 'one at a time: thin p50 / p99 (ms)', value: (e) => `${fmt(e.oneAtATime.thin.p50, 2)} / ${fmt(e.oneAtATime.thin.p99, 2)}` },
  { label: 'one at a time: Carrel p50 / p99 (ms)', value: (e) => `${fmt(e.oneAtATime.carrel.p50, 2)} / ${fmt(e.oneAtATime.carrel.p99, 2)}` },
  { label: 'paced at 70% of thin rate (req/s)', value: (e) => fmt(e.paced.carrel.rate) },
  { label: 'paced: Carrel served (req/s)', value: (e) => fmt(e.paced.carrel.rps) },
  {
    label: 'paced: Carrel p99 (ms)',
    value: (e) => fmt(e.paced.carrel.latency.p99, 2),
    target: `< ${TARGETS.p99Ms}`,
    pass: (e) => e.paced.carrel.latency.p99 < TARGETS.p99Ms && e.paced.carrel.rps >= 0.97 * e.paced.carrel.rate,
  },
  { label: 'paced: thin server p99 (ms)', value: (e) => fmt(e.paced.thin.latency.p99, 2) },
  {
    label: 'CPU cost ratio thin/Carrel',
    value: (e) => fmt(cpuRatio(e), 2),
  },
  { label: 'CPU ms/req thin: server + postgres', value: (e) => cpuPair(e.thin.rounds) },
  { label: 'CPU ms/req Carrel: server + postgres', value: (e) => cpuPair(e.lookup.rounds) },
  refRow('reference (ready-made doc) JSON (req/s)', (r) => fmt(r.json.rps)),
  refRow('Carrel / reference, JSON', (r) => fmt(r.jsonRatio, 2), `>= ${TARGETS.refJsonRatio}`, (r) => r.jsonRatio >= TARGETS.refJsonRatio),
  { label: 'p99 JSON: reference / Carrel (ms)', value: (e) => (e.reference ? `${fmt(e.reference.json.p99, 2)} / ${fmt(e.lookup.p99, 2)}` : '') },
  refRow('p99 Carrel / reference, JSON', (r) => fmt(r.jsonP99Ratio, 2), `<= ${TARGETS.refP99Ratio}`, (r) => r.jsonP99Ratio <= TARGETS.refP99Ratio),
  refRow('Carrel GET user XML (req/s)', (r) => fmt(r.carrelXml.rps)),
  refRow('reference (ready-made doc) XML (req/s)', (r) => fmt(r.xml.rps)),
  refRow('Carrel / reference, XML', (r) => fmt(r.xmlRatio, 2), `>= ${TARGETS.refXmlRatio}`, (r) => r.xmlRatio >= TARGETS.refXmlRatio),
  refRow('p99 XML: reference / Carrel (ms)', (r) => `${fmt(r.xml.p99, 2)} / ${fmt(r.carrelXml.p99, 2)}`),
  refRow('p99 Carrel / reference, XML', (r) => fmt(r.xmlP99Ratio, 2), `<= ${TARGETS.refP99Ratio}`, (r) => r.xmlP99Ratio <= TARGETS.refP99Ratio),
  searchRow(1),
  searchRow(2),
  { label: 'search smi, matches', value: (e) => fmt(e.smiMatches) },
  { label: 'search smi p50, sequential (ms)', value: (e) => fmt(e.searchSequential.p50, 2) },
  {
    label: 'search smi p95, sequential (ms)',
    value: (e) => fmt(e.searchSequential.p95, 2),
    target: `< ${TARGETS.searchP95Ms}`,
    pass: (e) => e.searchSequential.p95 < TARGETS.searchP95Ms,
  },
  { label: 'search smi p99, sequential (ms)', value: (e) => fmt(e.searchSequential.p99, 2) },
  { label: 'search smi, 4 conn (req/s)', value: (e) => fmt(e.searchLoad.rps) },
  {
    label: 'search smi p95, 4 conn (ms)',
    value: (e) => fmt(e.searchLoad.latency.p95, 2),
    target: `< ${TARGETS.searchP95Ms}`,
    pass: (e) => e.searchLoad.latency.p95 < TARGETS.searchP95Ms,
  },
  { label: 'Carrel RSS just after start (MB)', value: (e) => fmt(e.memory.startRssMb, 1) },
  { label: 'Carrel idle RSS after warm-up (MB)', value: (e) => fmt(e.memory.idleRssMb, 1), target: `< ${TARGETS.idleRssMb}`, pass: (e) => e.memory.idleRssMb < TARGETS.idleRssMb },
  { label: 'Carrel RSS 3 s after load (MB)', value: (e) => fmt(e.memory.afterLoadRssMb, 1) },
  { label: 'Carrel peak RSS (MB)', value: (e) => fmt(e.memory.peakRssMb, 1) },
  { label: 'thin server RSS after load (MB)', value: (e) => fmt(e.thin.rssMb, 1) },
  { label: 'max CPU busy before a phase (%)', value: (e) => fmt(Math.max(...e.cpuBusyBeforePhases) * 100) },
  {
    label: 'max CPU used by others in a round (%)',
    value: (e) => fmt(Math.max(...[...e.thin.rounds, ...e.lookup.rounds].map((r) => r.otherBusy)) * 100),
  },
];

/** Rows of cells: metric, one column per engine, target, verdict (PostgreSQL only). */
export function tableCells(r: RunResult): string[][] {
  const pgResult = r.engines.find((e) => e.engine === 'postgres');
  const header = ['metric', ...r.engines.map((e) => e.engine), 'target (PostgreSQL)', 'result'];
  const body = ROWS.map((row) => [
    row.label,
    ...r.engines.map((e) => row.value(e)),
    row.target ?? '',
    row.pass && pgResult ? (row.pass(pgResult) ? 'PASS' : 'FAIL') : '',
  ]);
  return [header, ...body];
}

export function printTable(r: RunResult): void {
  const cells = tableCells(r);
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  const o = r.options;
  console.log(`\n${r.machine.cpus} cpus, ${r.machine.cpu}, ${r.machine.ramGb} GB, Node ${r.machine.node}`);
  console.log(`${o.connections} connections, ${o.rounds} alternating rounds of ${o.seconds} s per server (medians shown)\n`);
  for (const [i, row] of cells.entries()) {
    console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  const failed = cells.slice(1).filter((row) => row.at(-1) === 'FAIL').length;
  console.log(failed ? `\n${failed} target(s) FAILED` : '\nall targets PASS');
}
