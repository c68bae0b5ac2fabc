// Job kinds for tests of the queue itself: each handler registered as a kind with an empty-object
// payload, so a test can run a handler through a real worker without a module of its own.
import { Type } from 'typebox';
import { defineJobKind, type JobHandler } from '../../src/domain/jobs/job.js';
import { createJobRegistry, type JobRegistry } from '../../src/domain/jobs/registry.js';

export function kindsOf(handlers: Record<string, JobHandler>): JobRegistry {
  const registry = createJobRegistry();
  for (const [kind, handler] of Object.entries(handlers)) {
    registry.register(defineJobKind({ kind, payload: Type.Object({}), permission: 'sis:manage', counters: ['done'], handler }));
  }
  return registry;
}
