// A real OpenLDAP slapd for the LDAP method's tests and bench: a temp directory, a hand-written
// slapd.conf (see /work/shared/reference/deps.md), a few inetOrgPerson entries, a self-signed CA
// and a server certificate made here with openssl, listening on free ports for ldap:// (StartTLS
// offered) and ldaps://. `.ci/run` installs slapd when it is missing.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SLAPD = '/usr/sbin/slapd';
export const SUFFIX = 'dc=lib,dc=test';
export const PEOPLE = `ou=people,${SUFFIX}`;
export const SERVICE_DN = `cn=carrel,ou=services,${SUFFIX}`;
export const SERVICE_PASSWORD = 'service-secret';

export interface Person {
  uid: string;
  password: string;
  givenName: string;
  sn: string;
  mail: string;
  employeeNumber: string;
}

/** The seeded people. Two share a cn ("Sam Lee") so an ambiguous filter can be tried. */
export const PEOPLE_SEED: Person[] = [
  { uid: 'alice', password: 'alice-pass-1', givenName: 'Alice', sn: 'Archer', mail: 'alice@lib.test', employeeNumber: 'E1001' },
  { uid: 'bob', password: 'bob-pass-2', givenName: 'Bob', sn: 'Baker', mail: 'bob@lib.test', employeeNumber: 'E1002' },
  { uid: 'sam1', password: 'sam-pass-3', givenName: 'Sam', sn: 'Lee', mail: 'sam1@lib.test', employeeNumber: 'E1003' },
  { uid: 'sam2', password: 'sam-pass-4', givenName: 'Sam', sn: 'Lee', mail: 'sam2@lib.test', employeeNumber: 'E1004' },
];

export interface Slapd {
  /** ldap://127.0.0.1:PORT (StartTLS available). */
  url: string;
  /** ldaps://localhost:PORT (certificate for localhost and 127.0.0.1). */
  ldapsUrl: string;
  /** PEM of the CA that signed the server certificate. */
  ca: string;
  /** A CA that signed nothing here: a directory "signed by someone else". */
  otherCa: string;
  /** slapd's recent stats log (connections, BIND dn=…, SRCH filter=…): what the directory was asked. */
  log(): string;
  stop(): Promise<void>;
}

export function slapdAvailable(): boolean {
  return existsSync(SLAPD);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA and a server certificate it signs (localhost, 127.0.0.1); another CA that signs nothing. */
function makeCertificates(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  writeFileSync(
    join(dir, 'server.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  for (const ca of ['ca', 'other-ca']) {
    openssl(dir, ['req', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.csr`, '-subj', `/CN=Carrel test ${ca}`]);
    openssl(dir, ['x509', '-req', '-in', `${ca}.csr`, '-signkey', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-extfile', 'ca.ext']);
  }
  openssl(dir, ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '2', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext']);
}

function seedLdif(people: Person[]): string {
  const head = [
    `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: lib\no: Test library`,
    `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ou=services,${SUFFIX}\nobjectClass: organizationalUnit\nou: services`,
    `dn: ${SERVICE_DN}\nobjectClass: person\ncn: carrel\nsn: service\nuserPassword: ${SERVICE_PASSWORD}`,
  ];
  const entries = people.map((p) =>
    [
      `dn: uid=${p.uid},${PEOPLE}`,
      'objectClass: inetOrgPerson',
      `uid: ${p.uid}`,
      `cn: ${p.givenName} ${p.sn}`,
      `givenName: ${p.givenName}`,
      `sn: ${p.sn}`,
      `mail: ${p.mail}`,
      `employeeNumber: ${p.employeeNumber}`,
      `userPassword: ${p.password}`,
    ].join('\n'),
  );
  return [...head, ...entries].join('\n\n') + '\n';
}

function slapdConf(dir: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile  ${dir}/slapd.pid
argsfile ${dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
# An empty password with a DN (an "unauthenticated bind", RFC 4513 5.1.2) succeeds here, as it
# does on directories set up carelessly: the method must refuse it before asking.
allow bind_anon_dn
TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server.key
database mdb
maxsize 104857600
suffix "${SUFFIX}"
rootdn "cn=admin,${SUFFIX}"
rootpw admin-secret
directory ${dir}/db
index objectClass eq
index uid eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
`;
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`slapd exited (${child.exitCode}): ${stderr().slice(-4000)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`slapd did not listen on ${port}: ${stderr().slice(-4000)}`);
}

export async function startSlapd(people: Person[] = PEOPLE_SEED): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'carrel-slapd-'));
  mkdirSync(join(dir, 'db'));
  makeCertificates(dir);
  writeFileSync(join(dir, 'slapd.conf'), slapdConf(dir));
  writeFileSync(join(dir, 'seed.ldif'), seedLdif(people));
  execFileSync('/usr/sbin/slapadd', ['-f', join(dir, 'slapd.conf'), '-l', join(dir, 'seed.ldif')], { stdio: 'pipe' });
  const [port, tlsPort] = [await freePort(), await freePort()];
  // -d keeps slapd in the foreground, so it is our child and dies with the test; level 256
  // (stats) logs each operation, which tests read to see what the directory was asked.
  const child = spawn(SLAPD, ['-f', join(dir, 'slapd.conf'), '-h', `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`, '-d', '256'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-200_000)));
  try {
    await Promise.all([waitForPort(port, child, () => err), waitForPort(tlsPort, child, () => err)]);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: `ldaps://localhost:${tlsPort}`,
    ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    otherCa: readFileSync(join(dir, 'other-ca.pem'), 'utf8'),
    log: () => err,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
