-- Login methods (issue 9): the ways an institution's users prove who they are beside the local
-- password (SAML, CAS, LDAP, OIDC, social, e-mail link), the short-lived flows of the redirect
-- methods, and a single-use memory (SAML assertion ids, CAS tickets, OIDC codes).

-- One row per method per institution. config holds the type's settings (checked by its module's
-- schema, src/domain/sign-in/methods/*), secrets included: the API and CLI never return them.
CREATE TABLE login_method (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  institution_id uuid NOT NULL REFERENCES institution (id) ON DELETE CASCADE,
  code text NOT NULL,
  type text NOT NULL,
  label text NOT NULL,
  -- 'primary_id' or an identifier type code of the institution.
  match text NOT NULL,
  config jsonb NOT NULL DEFAULT '{}',
  -- Just-in-time creation ({recordType, userGroup}); NULL: an unknown subject is refused.
  jit jsonb,
  enabled boolean NOT NULL DEFAULT true,
  position int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX login_method_code ON login_method (institution_id, lower(code));

-- A redirect method's flow between start and callback: single use, ten minutes. id_hash is the
-- SHA-256 of the random flow id, which travels in the protocol's state parameter (OIDC state,
-- SAML RelayState, the CAS service URL) and, where the protocol allows, in a cookie that binds
-- the flow to the browser that began it (see src/domain/sign-in/sign-in.ts).
CREATE TABLE identity.login_flow (
  id_hash bytea PRIMARY KEY,
  institution_id uuid NOT NULL REFERENCES institution (id) ON DELETE CASCADE,
  method_id uuid NOT NULL REFERENCES login_method (id) ON DELETE CASCADE,
  data jsonb NOT NULL DEFAULT '{}',
  return_to text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX login_flow_expires ON identity.login_flow (expires_at);

-- Values that may be used once (MethodContext.firstUse): SHA-256 of the namespaced key.
CREATE TABLE identity.single_use (
  key_hash bytea PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
CREATE INDEX single_use_expires ON identity.single_use (expires_at);
