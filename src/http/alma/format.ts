// Which of Alma's two formats a request wants back, and how a body is sent in it.
// Alma: the `format` parameter wins, then Accept; we then follow the request's own Content-Type,
// and fall back to XML as Alma does.
import type { FastifyReply, FastifyRequest } from 'fastify';

export type WireFormat = 'json' | 'xml';

export function responseFormat(req: FastifyRequest): WireFormat {
  const format = (req.query as { format?: unknown } | undefined)?.format;
  if (format === 'json' || format === 'xml') return format;
  const accept = req.headers.accept ?? '';
  if (/json/i.test(accept)) return 'json';
  if (/xml/i.test(accept)) return 'xml';
  const type = req.headers['content-type'] ?? '';
  if (/json/i.test(type)) return 'json';
  if (/xml/i.test(type)) return 'xml';
  return req.wireDefault;
}

export function requestFormat(req: FastifyRequest): WireFormat | undefined {
  const type = req.headers['content-type'] ?? '';
  if (/json/i.test(type)) return 'json';
  if (/xml/i.test(type)) return 'xml';
  return undefined;
}

const CONTENT_TYPE: Record<WireFormat, string> = { json: 'application/json; charset=utf-8', xml: 'application/xml; charset=utf-8' };

export function send(reply: FastifyReply, format: WireFormat, body: { json: () => unknown; xml: () => string }) {
  return sendText(reply, format, format === 'json' ? JSON.stringify(body.json()) : body.xml());
}

/** A body already in the wire format (a stored user document). */
export function sendText(reply: FastifyReply, format: WireFormat, text: string) {
  return reply.type(CONTENT_TYPE[format]).send(text);
}
