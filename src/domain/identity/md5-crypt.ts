// MD5-crypt ($1$, and Apache's $apr1$), over bytes. Written here rather than taken from the
// apache-md5 package: that one hashes the password as 'ascii' and counts UTF-16 units, so any
// password with a non-ASCII character gets a different hash than crypt(3) or `openssl passwd -1`
// made (test/identity-legacy.test.ts checks both against openssl's output).
import { createHash } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function to64(value: number, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    out += ITOA64[value & 0x3f];
    value >>= 6;
  }
  return out;
}

const md5 = (...parts: Buffer[]) => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** The whole `$1$salt$hash` string for this password and salt (at most 8 salt characters count). */
export function md5Crypt(password: Buffer, salt: string, magic: '$1$' | '$apr1$'): string {
  const s = Buffer.from(salt.slice(0, 8), 'utf8');
  const alternate = md5(password, s, password);
  const parts: Buffer[] = [password, Buffer.from(magic), s];
  for (let left = password.length; left > 0; left -= 16) parts.push(alternate.subarray(0, Math.min(16, left)));
  for (let i = password.length; i; i >>= 1) parts.push(i & 1 ? Buffer.from([0]) : password.subarray(0, 1));
  let final = md5(...parts);
  // 1000 rounds, to slow it down (by 1990s standards).
  for (let i = 0; i < 1000; i++) {
    const round: Buffer[] = [i & 1 ? password : final];
    if (i % 3) round.push(s);
    if (i % 7) round.push(password);
    round.push(i & 1 ? final : password);
    final = md5(...round);
  }
  const f = final;
  const encoded =
    to64((f[0]! << 16) | (f[6]! << 8) | f[12]!, 4) +
    to64((f[1]! << 16) | (f[7]! << 8) | f[13]!, 4) +
    to64((f[2]! << 16) | (f[8]! << 8) | f[14]!, 4) +
    to64((f[3]! << 16) | (f[9]! << 8) | f[15]!, 4) +
    to64((f[4]! << 16) | (f[10]! << 8) | f[5]!, 4) +
    to64(f[11]!, 2);
  return `${magic}${salt.slice(0, 8)}$${encoded}`;
}
