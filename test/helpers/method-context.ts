// A MethodContext for calling one login-method module directly (no database, no HTTP): the
// method's row as the seam would load it, URLs under http://carrel.test, and a single-use memory
// in a Set (the deployment's shared one is the sign-in service's; here only the module's use of
// it is under test; pass `memory` to share one between contexts).
import { randomUUID } from 'node:crypto';
import { DEFAULT_INSTITUTION_SETTINGS, type Institution } from '../../src/model/institution.js';
import type { LoginMethod, LoginMethodType } from '../../src/model/login-method.js';
import type { MethodContext } from '../../src/domain/sign-in/method.js';

export function methodContext<C>(
  type: LoginMethodType,
  config: C,
  opts: { code?: string; inst?: string; match?: string; clock?: () => Date; memory?: Set<string> } = {},
): MethodContext<C> {
  const code = opts.code ?? type;
  const inst = opts.inst ?? 'UNIV';
  const now = new Date();
  const method: LoginMethod & { config: C } = {
    id: randomUUID(), institutionId: randomUUID(), code, type, label: `Sign in with ${type}`, match: opts.match ?? 'primary_id',
    config: config as C & Record<string, unknown>, jit: null, enabled: true, position: 0, createdAt: now, updatedAt: now,
  };
  const institution: Institution = { id: method.institutionId, code: inst, name: 'Test university', networkId: null, isNetworkZone: false, settings: DEFAULT_INSTITUTION_SETTINGS };
  const memory = opts.memory ?? new Set<string>();
  const base = `http://carrel.test/auth/${inst}`;
  return {
    method,
    institution,
    urls: { callback: `${base}/login/${code}/callback`, acs: `${base}/saml/${code}/acs`, metadata: `${base}/saml/${code}/metadata` },
    clock: opts.clock ?? (() => new Date()),
    async firstUse(key) {
      if (memory.has(key)) return false;
      memory.add(key);
      return true;
    },
  };
}
