// Password hashes imported from other systems, recognised by their shape, verified in constant
// time, and replaced by argon2id at the first successful login. Accepted formats (also in README):
//
//   argon2        $argon2id$v=19$m=…,t=…,p=…$salt$hash   ($argon2i$, $argon2d$)
//   bcrypt        $2a$ / $2b$ / $2y$ (PHP) cost 4–15
//   PBKDF2        $pbkdf2$ITER$SALT$HASH (SHA-1), $pbkdf2-sha256$…, $pbkdf2-sha512$…   passlib:
//                   salt and hash in passlib's base64 ('.' for '+', no padding), salt as bytes
//                 pbkdf2_sha256$ITER$SALT$BASE64 (also pbkdf2_sha1, pbkdf2_sha512)   Django:
//                   salt used as its UTF-8 text, hash in standard base64
//                 pbkdf2:sha256:ITER$SALT$HEX (also sha1, sha512)   Werkzeug / Flask
//   SSHA          {SSHA}base64(sha1(password+salt)+salt), {SSHA256}, {SSHA512}   (LDAP)
//   MD5-crypt     $1$salt$hash, Apache $apr1$salt$hash
//   SHA-crypt     $5$[rounds=N$]salt$hash, $6$[rounds=N$]salt$hash
//
// Costs are capped so an imported hash cannot make each login burn seconds of CPU.
import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { parseOptions, verify as argon2Verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { encrypt as shaCrypt } from 'unixcrypt';
import { AppError } from '../../errors.js';
import { md5Crypt } from './md5-crypt.js';

const pbkdf2Async = promisify(pbkdf2);

export type HashAlgorithm =
  | 'argon2id'
  | 'argon2i'
  | 'argon2d'
  | 'bcrypt'
  | 'pbkdf2-sha1'
  | 'pbkdf2-sha256'
  | 'pbkdf2-sha512'
  | 'ssha'
  | 'ssha256'
  | 'ssha512'
  | 'md5-crypt'
  | 'apr1-md5'
  | 'sha256-crypt'
  | 'sha512-crypt';

export interface ParsedHash {
  algorithm: HashAlgorithm;
  /** True when this password (exactly these characters) produced the hash. */
  verify(password: string): Promise<boolean>;
}

const MAX_PBKDF2_ITERATIONS = 2_000_000;
const MAX_SHA_CRYPT_ROUNDS = 2_000_000;
const MAX_BCRYPT_COST = 15;
const MAX_ARGON2_MEMORY_KIB = 262_144;
const MAX_ARGON2_TIME = 20;
const MAX_ARGON2_PARALLELISM = 16;

const refuse = (reason: string) => new AppError('HASH_FORMAT', { reason });

/** Equal-length buffers compared in constant time; a length difference is not secret. */
function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const DIGESTS = { sha1: 20, sha256: 32, sha512: 64 } as const;
type Digest = keyof typeof DIGESTS;

function iterations(raw: string, max: number, what: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw refuse(`${what} must be a positive integer`);
  if (n > max) throw refuse(`${what} ${n} is more than the ${max} Carrel accepts`);
  return n;
}

function pbkdf2Hash(digest: Digest, iter: number, salt: Buffer, expected: Buffer): ParsedHash {
  if (expected.length !== DIGESTS[digest]) throw refuse(`a PBKDF2-${digest.toUpperCase()} hash must be ${DIGESTS[digest]} bytes`);
  return {
    algorithm: `pbkdf2-${digest}`,
    async verify(password) {
      return same(await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iter, expected.length, digest), expected);
    },
  };
}

// passlib's "adapted base64": '.' instead of '+', no padding.
const ab64 = (s: string) => Buffer.from(s.replace(/\./g, '+'), 'base64');

function parsePbkdf2(stored: string): ParsedHash | undefined {
  let m = /^\$pbkdf2(?:-(sha1|sha256|sha512))?\$(\d+)\$([./A-Za-z0-9]+)\$([./A-Za-z0-9]+)$/.exec(stored);
  if (m) return pbkdf2Hash((m[1] ?? 'sha1') as Digest, iterations(m[2]!, MAX_PBKDF2_ITERATIONS, 'iterations'), ab64(m[3]!), ab64(m[4]!));
  m = /^pbkdf2_(sha1|sha256|sha512)\$(\d+)\$([^$]+)\$([A-Za-z0-9+/]+=*)$/.exec(stored);
  if (m) {
    return pbkdf2Hash(m[1] as Digest, iterations(m[2]!, MAX_PBKDF2_ITERATIONS, 'iterations'), Buffer.from(m[3]!, 'utf8'), Buffer.from(m[4]!, 'base64'));
  }
  m = /^pbkdf2:(sha1|sha256|sha512):(\d+)\$([^$]+)\$([0-9a-f]+)$/.exec(stored);
  if (m) {
    return pbkdf2Hash(m[1] as Digest, iterations(m[2]!, MAX_PBKDF2_ITERATIONS, 'iterations'), Buffer.from(m[3]!, 'utf8'), Buffer.from(m[4]!, 'hex'));
  }
  return undefined;
}

function parseSsha(stored: string): ParsedHash | undefined {
  const m = /^\{(SSHA|SSHA256|SSHA512)\}([A-Za-z0-9+/]+=*)$/i.exec(stored);
  if (!m) return undefined;
  const variant = m[1]!.toUpperCase();
  const digest: Digest = variant === 'SSHA' ? 'sha1' : variant === 'SSHA256' ? 'sha256' : 'sha512';
  const raw = Buffer.from(m[2]!, 'base64');
  const size = DIGESTS[digest];
  if (raw.length < size + 1) throw refuse(`an {${variant}} value must hold a ${size}-byte digest and a salt`);
  const expected = raw.subarray(0, size);
  const salt = raw.subarray(size);
  return {
    algorithm: variant.toLowerCase() as HashAlgorithm,
    async verify(password) {
      return same(createHash(digest).update(Buffer.from(password, 'utf8')).update(salt).digest(), expected);
    },
  };
}

function parseCrypt(stored: string): ParsedHash | undefined {
  let m = /^\$2([aby])\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(stored);
  if (m) {
    const cost = Number(m[2]);
    if (cost < 4 || cost > MAX_BCRYPT_COST) throw refuse(`bcrypt cost ${cost} is outside 4–${MAX_BCRYPT_COST}`);
    const setting = stored.slice(0, 29);
    return {
      algorithm: 'bcrypt',
      async verify(password) {
        return same(Buffer.from(await bcrypt.hash(password, setting)), Buffer.from(stored));
      },
    };
  }
  m = /^\$(1|apr1)\$([^$]{0,8})\$[./0-9A-Za-z]{22}$/.exec(stored);
  if (m) {
    const magic = m[1] === '1' ? '$1$' : '$apr1$';
    const salt = m[2]!;
    return {
      algorithm: m[1] === '1' ? 'md5-crypt' : 'apr1-md5',
      async verify(password) {
        return same(Buffer.from(md5Crypt(Buffer.from(password, 'utf8'), salt, magic)), Buffer.from(stored));
      },
    };
  }
  m = /^\$([56])\$(?:rounds=(\d+)\$)?([^$]{0,16})\$([./0-9A-Za-z]+)$/.exec(stored);
  if (m) {
    const long = m[1] === '6';
    if (m[4]!.length !== (long ? 86 : 43)) throw refuse(`a $${m[1]}$ hash has ${long ? 86 : 43} characters after the salt`);
    if (m[2]) iterations(m[2], MAX_SHA_CRYPT_ROUNDS, 'rounds');
    const setting = stored.slice(0, stored.lastIndexOf('$'));
    return {
      algorithm: long ? 'sha512-crypt' : 'sha256-crypt',
      async verify(password) {
        return same(Buffer.from(shaCrypt(password, setting)), Buffer.from(stored));
      },
    };
  }
  return undefined;
}

function parseArgon2(stored: string, verifyArgon2: Argon2Verify): ParsedHash | undefined {
  const m = /^\$(argon2id|argon2i|argon2d)\$/.exec(stored);
  if (!m) return undefined;
  let p: ReturnType<typeof parseOptions>;
  try {
    p = parseOptions(stored);
  } catch {
    throw refuse('not a valid argon2 PHC string');
  }
  if (p.memoryCost > MAX_ARGON2_MEMORY_KIB || p.timeCost > MAX_ARGON2_TIME || p.parallelism > MAX_ARGON2_PARALLELISM) {
    throw refuse(`argon2 costs above m=${MAX_ARGON2_MEMORY_KIB},t=${MAX_ARGON2_TIME},p=${MAX_ARGON2_PARALLELISM} are refused`);
  }
  return {
    algorithm: m[1] as HashAlgorithm,
    verify: (password) => verifyArgon2(stored, password).catch(() => false),
  };
}

/** Verifies an argon2 hash of any variant: at login, the hasher's low-priority threads. */
export type Argon2Verify = (stored: string, password: string) => Promise<boolean>;

/** The format of a stored hash, with a verifier; AppError HASH_FORMAT when Carrel cannot use it. */
export function parseHash(stored: string, verifyArgon2: Argon2Verify = argon2Verify): ParsedHash {
  if (typeof stored !== 'string' || !stored) throw refuse('the hash is empty');
  if (stored.length > 1024) throw refuse('the hash is longer than 1024 characters');
  if (/\s/.test(stored)) throw refuse('the hash contains white space');
  const parsed = parseArgon2(stored, verifyArgon2) ?? parseCrypt(stored) ?? parsePbkdf2(stored) ?? parseSsha(stored);
  if (!parsed) {
    throw refuse(
      'unknown format (accepted: argon2, bcrypt $2a$/$2b$/$2y$, PBKDF2 in passlib, Django or Werkzeug form, {SSHA}, MD5-crypt $1$/$apr1$, SHA-crypt $5$/$6$)',
    );
  }
  return parsed;
}
