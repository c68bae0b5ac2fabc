// A small CAS server that keeps the protocol (Apereo CAS protocol 3.0 spec, node:http): the login
// form at /login issues single-use ST- tickets bound to the service URL and redirects there;
// /serviceValidate (2.0: the user only) and /p3/serviceValidate (3.0: the user and released
// attributes) validate a ticket once, for exactly the service it was issued for, within its
// lifetime, and answer in the CAS XML. Enough to test a client against, not a product.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface CasUser {
  password: string;
  /** Released by /p3/serviceValidate only. */
  attributes: Record<string, string[]>;
}

interface Ticket {
  service: string;
  user: string;
  issuedAt: number;
}

export interface CasServer {
  /** http://127.0.0.1:PORT/cas */
  url: string;
  users: Map<string, CasUser>;
  /** Issues a ticket as a successful /login would (for a test that plays the browser itself). */
  issueTicket(service: string, user: string): string;
  /** How many validation requests arrived (a replay caught by Carrel never reaches the server). */
  validations: number;
  /** Tickets live this long (CAS's default is 10 s). */
  ticketLifetimeMs: number;
  close(): Promise<void>;
}

const xmlEscape = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startCasServer(users: Record<string, CasUser>): Promise<CasServer> {
  const tickets = new Map<string, Ticket>();
  const state: CasServer = {
    url: '',
    users: new Map(Object.entries(users)),
    validations: 0,
    ticketLifetimeMs: 10_000,
    issueTicket(service, user) {
      const id = `ST-${randomBytes(24).toString('base64url')}`;
      tickets.set(id, { service, user, issuedAt: Date.now() });
      return id;
    },
    close: async () => undefined,
  };

  const failure = (res: ServerResponse, code: string, message: string) =>
    xml(res, `<cas:authenticationFailure code="${code}">${xmlEscape(message)}</cas:authenticationFailure>`);

  function validate(req: IncomingMessage, res: ServerResponse, q: URLSearchParams, v3: boolean): void {
    state.validations++;
    const service = q.get('service');
    const ticket = q.get('ticket');
    if (!service || !ticket) return failure(res, 'INVALID_REQUEST', 'service and ticket are required');
    if (!ticket.startsWith('ST-')) return failure(res, 'INVALID_TICKET_SPEC', `not a service ticket: ${ticket}`);
    const t = tickets.get(ticket);
    // Validated once, whatever the outcome (protocol 3.0 §3.1.1).
    tickets.delete(ticket);
    if (!t || Date.now() - t.issuedAt > state.ticketLifetimeMs) return failure(res, 'INVALID_TICKET', `Ticket ${ticket} not recognized`);
    if (t.service !== service) return failure(res, 'INVALID_SERVICE', `Ticket ${ticket} does not match supplied service`);
    const attrs = v3 ? state.users.get(t.user)?.attributes ?? {} : {};
    const released = Object.entries(attrs)
      .flatMap(([name, values]) => values.map((v) => `<cas:${name}>${xmlEscape(v)}</cas:${name}>`))
      .join('');
    xml(res, `<cas:authenticationSuccess><cas:user>${xmlEscape(t.user)}</cas:user>${v3 ? `<cas:attributes>${released}</cas:attributes>` : ''}</cas:authenticationSuccess>`);
  }

  async function login(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    if (req.method === 'GET') {
      const service = q.get('service') ?? '';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><form method="post" action="/cas/login"><input type="hidden" name="service" value="${xmlEscape(service)}">` +
          `<input name="username"><input name="password" type="password"><button>Sign in</button></form>`,
      );
      return;
    }
    const form = new URLSearchParams(await body(req));
    const service = form.get('service') ?? '';
    const user = state.users.get(form.get('username') ?? '');
    if (!service || !user || user.password !== form.get('password')) {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('Invalid credentials');
      return;
    }
    const back = new URL(service);
    back.searchParams.set('ticket', state.issueTicket(service, form.get('username')!));
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://cas.invalid');
    const route = u.pathname;
    Promise.resolve()
      .then(() => {
        if (route === '/cas/login') return login(req, res, u.searchParams);
        if (route === '/cas/serviceValidate') return validate(req, res, u.searchParams, false);
        if (route === '/cas/p3/serviceValidate') return validate(req, res, u.searchParams, true);
        res.writeHead(404);
        res.end();
      })
      .catch(() => {
        res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  state.url = `http://127.0.0.1:${port}/cas`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

function xml(res: ServerResponse, inner: string): void {
  res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8' });
  res.end(`<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">${inner}</cas:serviceResponse>`);
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
