import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { threadId } from 'node:worker_threads';
import { createHashThreads } from './hash-threads.js';
import { createPasswordHasher } from './password-hasher.js';

const CHEAP = { memoryKiB: 1024, timeCost: 1, parallelism: 1 };

describe('hashing threads', () => {
  const threads = createHashThreads({ size: 2 });
  const hasher = createPasswordHasher(CHEAP, threads);
  after(() => threads.close());

  test('hash and verify run on worker threads, more at once than there are threads', async () => {
    const stored = await hasher.hash('correct horse');
    assert.match(stored, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    const answers = await Promise.all(Array.from({ length: 7 }, (_, i) => hasher.verify(stored, i % 2 ? 'correct horse' : 'wrong horse')));
    assert.deepEqual(answers.map((a) => a.ok), [false, true, false, true, false, true, false]);
    assert.equal(threadId, 0, 'the test itself runs on the main thread');
  });

  test('a malformed stored hash is a failed verify, not a crash of the pool', async () => {
    assert.deepEqual(await hasher.verify('$argon2id$garbage', 'x'), { ok: false, needsRehash: false });
    assert.equal((await hasher.verify(await hasher.hash('still works'), 'still works')).ok, true);
  });

  test('the threads run below the event loop (nice +19) where the OS keeps priority per thread', { skip: process.platform !== 'linux' }, async () => {
    assert.equal(await threads.run<number>('priority', []), 19);
  });

  test('closed threads refuse new work', async () => {
    const other = createHashThreads({ size: 1 });
    await other.run('priority', []);
    await other.close();
    await assert.rejects(other.run('hash', ['x', CHEAP]), /closed/);
  });
});
