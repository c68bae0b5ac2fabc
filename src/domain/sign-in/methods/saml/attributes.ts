// The attributes campus IdPs release (eduPerson, SAML subject identifiers) and how one of them
// becomes the subject Carrel matches. Names are the OIDs the SAML2 attribute profile uses; the
// friendly names are accepted in a method's settings and from IdPs that release basic names.

export const NAME_ID = 'NameID';

/** Friendly name → the attribute's URI (urn:oid or OASIS). */
export const ATTRIBUTE_NAMES: Record<string, string> = {
  eduPersonPrincipalName: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  eduPersonScopedAffiliation: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.9',
  eduPersonAffiliation: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.1',
  eduPersonTargetedID: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.10',
  eduPersonUniqueId: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.13',
  'subject-id': 'urn:oasis:names:tc:SAML:attribute:subject-id',
  'pairwise-id': 'urn:oasis:names:tc:SAML:attribute:pairwise-id',
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  givenName: 'urn:oid:2.5.4.42',
  sn: 'urn:oid:2.5.4.4',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
  uid: 'urn:oid:0.9.2342.19200300.100.1.1',
};

const FRIENDLY_OF: Record<string, string> = Object.fromEntries(Object.entries(ATTRIBUTE_NAMES).map(([k, v]) => [v, k]));

/**
 * Values whose part after '@' is a security domain the IdP must be entitled to (shibmd:Scope in
 * its metadata): otherwise any IdP of a federation could assert alice@another-university.edu.
 */
const SCOPED = new Set(
  ['eduPersonPrincipalName', 'eduPersonScopedAffiliation', 'eduPersonUniqueId', 'subject-id', 'pairwise-id'].map((n) => ATTRIBUTE_NAMES[n]!),
);

/** The attribute's URI for a configured name (friendly or URI); NameID stays NameID. */
export function attributeUri(name: string): string {
  return ATTRIBUTE_NAMES[name] ?? name;
}

/** Released attributes, keyed by URI (a basic friendly name an IdP used is folded onto its URI). */
export type Released = Record<string, string[]>;

/**
 * node-saml gives each attribute's values as a string, a list, or (eduPersonTargetedID) an object
 * holding a NameID element; the targeted id is written the way Shibboleth logs it.
 */
export function releasedAttributes(raw: Record<string, unknown> | undefined): Released {
  const out: Released = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    const uri = ATTRIBUTE_NAMES[name] ?? name;
    const values = (Array.isArray(value) ? value : [value]).map(attributeText).filter((v): v is string => v !== null && v !== '');
    out[uri] = [...(out[uri] ?? []), ...values];
  }
  return out;
}

function attributeText(v: unknown): string | null {
  if (typeof v === 'string') return v.trim();
  if (v && typeof v === 'object') {
    const nameId = (v as { NameID?: Array<{ _?: string; $?: Record<string, string> }> }).NameID?.[0];
    if (nameId?._) return [nameId.$?.NameQualifier ?? '', nameId.$?.SPNameQualifier ?? '', nameId._.trim()].join('!');
    const text = (v as { _?: unknown })._;
    if (typeof text === 'string') return text.trim();
  }
  return null;
}

/** The first scoped value whose scope the IdP may not assert, or null. No scopes in metadata: no check. */
export function outOfScope(released: Released, scopes: readonly string[]): string | null {
  if (scopes.length === 0) return null;
  const allowed = new Set(scopes.map((s) => s.toLowerCase()));
  for (const [uri, values] of Object.entries(released)) {
    if (!SCOPED.has(uri)) continue;
    for (const v of values) {
      const at = v.lastIndexOf('@');
      if (at < 0 || !allowed.has(v.slice(at + 1).toLowerCase())) return `${FRIENDLY_OF[uri] ?? uri} has a scope the IdP is not entitled to`;
    }
  }
  return null;
}

/**
 * The user group for the first scoped affiliation the mapping names: keys are `member@scope`
 * (exact) or `member` (any scope the IdP may assert). Order of the mapping decides.
 */
export function groupFromAffiliation(released: Released, mapping: Record<string, string> | undefined): string | undefined {
  if (!mapping) return undefined;
  const values = (released[ATTRIBUTE_NAMES.eduPersonScopedAffiliation!] ?? []).map((v) => v.toLowerCase());
  const bare = new Set(values.map((v) => v.split('@')[0]));
  const full = new Set(values);
  for (const [key, group] of Object.entries(mapping)) {
    const k = key.toLowerCase();
    if (k.includes('@') ? full.has(k) : bare.has(k)) return group;
  }
  return undefined;
}

export function firstValue(released: Released, friendly: string): string | undefined {
  return released[ATTRIBUTE_NAMES[friendly]!]?.[0];
}
