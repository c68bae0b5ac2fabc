// Load generation and latency statistics: autocannon for throughput under concurrency, a plain
// keep-alive loop for the latency of one request at a time.
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  connections: number;
  seconds: number;
  requests: number;
  /** Successful (2xx) responses per second. */
  rps: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  /** Milliseconds, from each response's own timing (autocannon's histogram rounds to whole ms). */
  latency: Latency;
  /** autocannon's own p99 (whole ms; corrected for coordinated omission when a rate is set). */
  histogramP99: number;
  /** The rate asked for, when limited. */
  overallRate?: number;
}

export function latencyOf(samples: number[]): Latency {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  const round = (n: number) => Math.round(n * 100) / 100;
  const sum = samples.reduce((s, v) => s + v, 0);
  return { p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(at(1)), mean: round(sum / samples.length) };
}

export interface LoadOptions {
  baseUrl: string;
  /** Request paths, taken in turn by every connection. */
  paths: string[];
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  /** Requests per second over all connections; unlimited when absent. */
  overallRate?: number;
}

export async function load(opts: LoadOptions): Promise<LoadResult> {
  let next = 0;
  const samples: number[] = [];
  const instance = autocannon({
    url: opts.baseUrl,
    connections: opts.connections,
    duration: opts.seconds,
    timeout: 10,
    headers: opts.headers ?? {},
    ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          req.path = opts.paths[next++ % opts.paths.length]!;
          return req;
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) samples.push(ms);
  });
  const r = await instance;
  const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count]));
  return {
    connections: opts.connections,
    seconds: r.duration,
    requests: r['2xx'] + r.non2xx,
    rps: Math.round(r['2xx'] / r.duration),
    non2xx: r.non2xx,
    errors: r.errors,
    statusCodes,
    latency: latencyOf(samples),
    histogramP99: r.latency.p99,
    ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
  };
}

export interface Answer {
  status: number;
  body: string;
  ms: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One GET on a kept-alive connection, timed from send to the last byte. */
export function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, { agent, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** n requests one after another; every answer must be 2xx. */
export async function sequential(baseUrl: string, paths: string[], n: number, headers: Record<string, string> = {}): Promise<Latency> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = await get(baseUrl + paths[i % paths.length]!, headers);
    if (a.status < 200 || a.status >= 300) throw new Error(`GET ${paths[i % paths.length]} answered ${a.status}: ${a.body.slice(0, 300)}`);
    samples.push(a.ms);
  }
  return latencyOf(samples);
}

export function closeAgent(): void {
  agent.destroy();
}

export interface PacedResult {
  /** Requests per second asked for, sent at even intervals whatever the answers (open loop). */
  rate: number;
  seconds: number;
  /** 2xx answers per second. */
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** From each request's scheduled send time, so a stall counts against every request it delays. */
  latency: Latency;
}

/**
 * An open-loop load at a steady rate over up to `connections` kept-alive sockets. autocannon's
 * own rate limit sends each second's quota in a burst at the start of the second, which measures
 * the burst, not the rate.
 */
export async function paced(opts: LoadOptions & { rate: number }): Promise<PacedResult> {
  const pacedAgent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const samples: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  // Open every socket first: a cold keep-alive socket's first request waited up to 200 ms here
  // (thin server and Carrel alike), which measured TCP set-up, not the server.
  await Promise.all(
    Array.from({ length: opts.connections }, (_, i) =>
      new Promise<void>((resolve) => {
        const req = request(opts.baseUrl + opts.paths[i % opts.paths.length]!, { agent: pacedAgent, headers: opts.headers ?? {} }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => resolve());
        req.end();
      }),
    ),
  );
  const t0 = performance.now();
  const end = t0 + opts.seconds * 1000;
  const fire = (due: number) => {
    const path = opts.paths[sent++ % opts.paths.length]!;
    const p = new Promise<void>((resolve) => {
      const req = request(opts.baseUrl + path, { agent: pacedAgent, headers: opts.headers ?? {}, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) samples.push(performance.now() - due);
          else non2xx++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
  };
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = Math.min(performance.now(), end);
      // Request k is due at t0 + k/rate: by `now`, floor(elapsed * rate) + 1 of them are due
      // (the first at t0 itself), each timed from its own due time.
      const due = Math.min(Math.floor(((now - t0) / 1000) * opts.rate) + 1, Math.ceil(opts.seconds * opts.rate));
      while (sent < due) fire(t0 + (sent * 1000) / opts.rate);
      if (now >= end) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await Promise.all(inFlight);
  pacedAgent.destroy();
  const seconds = (performance.now() - t0) / 1000;
  const requests = samples.length + non2xx + errors;
  return { rate: opts.rate, seconds: opts.seconds, rps: Math.round(samples.length / seconds), requests, non2xx, errors, latency: latencyOf(samples) };
}
