// What every reference server of the benchmarks does around its one route: listen on the port
// asked (0: any), print {"port": N} for the harness (bench/procs.ts waits for that line), and on
// SIGTERM or SIGINT close the server and then what it holds, once. Nothing here is on the request
// path, so sharing it keeps the references as thin as they were.
import type { FastifyInstance } from 'fastify';

export async function serveReference(server: FastifyInstance, port: string | undefined, release: () => Promise<void>): Promise<void> {
  await server.listen({ port: Number(port ?? 0), host: '127.0.0.1' });
  const address = server.server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await server.close();
    await release();
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}
