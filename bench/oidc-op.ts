// The OpenID Provider of bench/oidc-callback.ts in its own process, so its CPU is not counted as
// Carrel's: oidc-provider (test/helpers/oidc-provider.ts) with one client and one account.
// argv: a JSON {client_id, client_secret, redirect_uri, account}; prints {"issuer": …} when ready.
import { startOp } from '../test/helpers/oidc-provider.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as { client_id: string; client_secret: string; redirect_uri: string; account: string };
const op = await startOp([{ client_id: spec.client_id, client_secret: spec.client_secret, redirect_uris: [spec.redirect_uri] }]);
op.accounts.set(spec.account, {});
op.nextAccount = spec.account;
process.stdout.write(`${JSON.stringify({ issuer: op.issuer })}\n`);
process.on('SIGTERM', () => void op.close().then(() => process.exit(0)));
