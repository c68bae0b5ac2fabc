// The Carrel leg of bench/ldap-signin.ts: the LDAP method's login page served by Carrel.
import type { LdapConfig } from '../src/domain/sign-in/methods/ldap.js';
import type { Person } from '../test/helpers/slapd.js';

export interface CarrelLegOptions {
  engine: 'postgres' | 'pglite';
  databaseUrl: string;
  config: LdapConfig;
  people: Person[];
}

export async function startCarrelLeg(_o: CarrelLegOptions): Promise<{ attempt: (p: Person) => Promise<boolean>; close(): Promise<void> }> {
  throw new Error('the login page of a method arrives with the sign-in seam; use --via module until then');
}
