// A MethodContext for calling one login-method module directly (no database, no HTTP): the
// method's row as the seam would load it, URLs under http://carrel.test, and a single-use memory
// in a Map (the deployment's shared one is the sign-in service's; here only the module's use of
// it is under test).
import { DEFAULT_INSTITUTION_SETTINGS, type Institution } from '../../src/model/institution.js';
import type { LoginMethodType } from '../../src/model/login-method.js';
import type { MethodContext } from '../../src/domain/sign-in/method.js';

export function methodContext<C>(type: LoginMethodType, config: C, opts: { code?: string; inst?: string; clock?: () => Date } = {}): MethodContext<C> {
  const code = opts.code ?? type;
  const inst = opts.inst ?? 'UNI';
  const base = `http://carrel.test/auth/${inst}`;
  const institution: Institution = { id: 'inst-1', code: inst, name: 'Test university', networkId: null, isNetworkZone: false, settings: DEFAULT_INSTITUTION_SETTINGS };
  const seen = new Set<string>();
  const now = new Date();
  return {
    method: {
      id: `method-${code}`,
      institutionId: institution.id,
      code,
      type,
      label: `Sign in with ${type}`,
      match: 'primary_id',
      config: config as Record<string, unknown> & C,
      jit: null,
      enabled: true,
      position: 0,
      createdAt: now,
      updatedAt: now,
    },
    institution,
    urls: { callback: `${base}/login/${code}/callback`, acs: `${base}/saml/${code}/acs`, metadata: `${base}/saml/${code}/metadata` },
    clock: opts.clock ?? (() => new Date()),
    async firstUse(key) {
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    },
  };
}
