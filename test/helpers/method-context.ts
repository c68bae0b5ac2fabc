// A MethodContext for calling a login-method module directly (no HTTP, no database): the seam's
// single-use memory as an in-process map, the callback URL Carrel would register.
import { randomUUID } from 'node:crypto';
import type { Institution } from '../../src/model/institution.js';
import { DEFAULT_INSTITUTION_SETTINGS } from '../../src/model/institution.js';
import type { LoginMethod, LoginMethodType } from '../../src/model/login-method.js';
import type { MethodContext } from '../../src/domain/sign-in/method.js';

export function methodContext<C>(type: LoginMethodType, config: C, opts: { code?: string; inst?: string; match?: string; memory?: Set<string> } = {}): MethodContext<C> {
  const inst = opts.inst ?? 'UNIV';
  const code = opts.code ?? type;
  const now = new Date();
  const method: LoginMethod & { config: C } = {
    id: randomUUID(), institutionId: randomUUID(), code, type, label: type, match: opts.match ?? 'primary_id',
    config: config as C & Record<string, unknown>, jit: null, enabled: true, position: 0, createdAt: now, updatedAt: now,
  };
  const institution: Institution = { id: method.institutionId, code: inst, name: inst, networkId: null, isNetworkZone: false, settings: DEFAULT_INSTITUTION_SETTINGS };
  const memory = opts.memory ?? new Set<string>();
  const base = `http://carrel.test/auth/${inst}`;
  return {
    method,
    institution,
    urls: { callback: `${base}/login/${code}/callback`, acs: `${base}/saml/${code}/acs`, metadata: `${base}/saml/${code}/metadata` },
    clock: () => new Date(),
    async firstUse(key) {
      if (memory.has(key)) return false;
      memory.add(key);
      return true;
    },
  };
}
