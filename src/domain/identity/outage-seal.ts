// Temporary passwords of an outage job are shown once, to the admin who started it, and exist raw
// nowhere else. The job is started with a fresh X25519 key pair: the public half goes into the
// job's payload, the private half back to the admin as the download token (never stored). The
// worker seals each password to the public key (ephemeral X25519, HKDF-SHA256, AES-256-GCM) in
// the transaction that sets it, so a crash loses none; only the token opens them, once.
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, randomInt, type KeyObject } from 'node:crypto';

const INFO = Buffer.from('carrel outage temporary password v1');
const SPKI_BYTES = 44;

export function newSealingKeys(): { publicKey: string; downloadToken: string } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64url'),
    downloadToken: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64url'),
  };
}

function keyOf(shared: Buffer, ephemeral: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, ephemeral, INFO, 32));
}

export function seal(publicKey: string, text: string): Buffer {
  const recipient = createPublicKey({ key: Buffer.from(publicKey, 'base64url'), format: 'der', type: 'spki' });
  const eph = generateKeyPairSync('x25519');
  const ephPublic = eph.publicKey.export({ type: 'spki', format: 'der' });
  const key = keyOf(diffieHellman({ privateKey: eph.privateKey, publicKey: recipient }), ephPublic);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return Buffer.concat([ephPublic, iv, cipher.getAuthTag(), body]);
}

/** The private key of a download token, or undefined when it is not one. */
export function openerOf(downloadToken: string): KeyObject | undefined {
  if (!/^[A-Za-z0-9_-]{40,100}$/.test(downloadToken)) return undefined;
  try {
    const key = createPrivateKey({ key: Buffer.from(downloadToken, 'base64url'), format: 'der', type: 'pkcs8' });
    return key.asymmetricKeyType === 'x25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The sealed text, or undefined when this key did not seal it (or it was altered). */
export function unseal(privateKey: KeyObject, sealed: Buffer): string | undefined {
  try {
    const ephPublic = sealed.subarray(0, SPKI_BYTES);
    const iv = sealed.subarray(SPKI_BYTES, SPKI_BYTES + 12);
    const tag = sealed.subarray(SPKI_BYTES + 12, SPKI_BYTES + 28);
    const eph = createPublicKey({ key: ephPublic, format: 'der', type: 'spki' });
    const decipher = createDecipheriv('aes-256-gcm', keyOf(diffieHellman({ privateKey, publicKey: eph }), ephPublic), iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(SPKI_BYTES + 28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

const CLASSES = ['abcdefghijkmnpqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '!#%+-=?@'];
const ALL = CLASSES.join('');

const LETTERS = CLASSES.slice(0, 3).join('');

/**
 * 20 characters, each class present (any institution policy's classes), no look-alikes (0/O, 1/l/I).
 * The first is a letter or digit: a cell starting with = + - @ would be written with a guarding
 * quote in the CSV (csvText), and the password read off it would be wrong.
 */
export function temporaryPassword(): string {
  const chars = Array.from({ length: 15 }, () => ALL[randomInt(ALL.length)]!);
  for (const set of CLASSES) chars.splice(randomInt(chars.length + 1), 0, set[randomInt(set.length)]!);
  return LETTERS[randomInt(LETTERS.length)]! + chars.join('');
}
