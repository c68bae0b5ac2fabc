// argon2id for every password Carrel hashes. Hashing runs on worker threads at a lower CPU
// priority (hash-threads.ts), so a login storm keeps the event loop free for everything else
// (bench/auth-run.ts measures /healthz during one).
import { randomUUID } from 'node:crypto';
import { parseOptions } from '@node-rs/argon2';
import { createHashThreads, type HashThreads } from './hash-threads.js';

// The library's Algorithm is an ambient const enum, which isolatedModules cannot read.
const ARGON2ID = 2;

export interface Argon2Params {
  memoryKiB: number;
  timeCost: number;
  parallelism: number;
}

export interface PasswordHasher {
  readonly params: Argon2Params;
  hash(password: string): Promise<string>;
  /** needsRehash: the hash is argon2 but not argon2id with today's parameters. */
  verify(stored: string, password: string): Promise<{ ok: boolean; needsRehash: boolean }>;
  /**
   * A verify against a hash no password matches, at today's cost: unknown users, users without a
   * credential and locked accounts take as long as a wrong password, so timing tells nothing.
   */
  verifyDummy(password: string): Promise<void>;
  /** Stops the hashing threads (the app's close). */
  close?(): Promise<void>;
}

export function createPasswordHasher(params: Argon2Params, threads: HashThreads = createHashThreads()): PasswordHasher {
  const options = {
    algorithm: ARGON2ID,
    memoryCost: params.memoryKiB,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
  };
  // Made once, lazily, with a random password nobody knows.
  let dummy: Promise<string> | undefined;
  const hash = (password: string) => threads.run<string>('hash', [password, options]);
  const verify = (stored: string, password: string) => threads.run<boolean>('verify', [stored, password]);
  const dummyHash = () => (dummy ??= hash(randomUUID()));

  function outdated(stored: string): boolean {
    try {
      const p = parseOptions(stored);
      return (
        (p.algorithm as number) !== ARGON2ID ||
        p.memoryCost !== params.memoryKiB ||
        p.timeCost !== params.timeCost ||
        p.parallelism !== params.parallelism
      );
    } catch {
      return true;
    }
  }

  return {
    params,
    hash,
    async verify(stored, password) {
      let ok = false;
      try {
        ok = await verify(stored, password);
      } catch {
        ok = false;
      }
      return { ok, needsRehash: ok && outdated(stored) };
    },
    async verifyDummy(password) {
      await verify(await dummyHash(), password).catch(() => false);
    },
    close: () => threads.close(),
  };
}
