-- The identity service: credentials, one-time links, login throttling, sessions, and the mail
-- outbox that carries the links. Only src/domain/identity (through src/db/queries/identity-*.ts)
-- reads the identity schema; nothing in it is ever returned by the user API.

CREATE SCHEMA IF NOT EXISTS identity;

-- One row per user that has (or had) a local password. hash is NULL when the password was
-- removed (toggled to EXTERNAL) but the row keeps the per-user settings.
CREATE TABLE identity.credential (
  user_id uuid PRIMARY KEY REFERENCES app_user (id) ON DELETE CASCADE,
  institution_id uuid NOT NULL REFERENCES institution (id),
  -- argon2id for every hash Carrel makes; a legacy label (bcrypt, pbkdf2-sha256, ...) for imports.
  algorithm text,
  hash text,
  must_change boolean NOT NULL DEFAULT false,
  -- An imported hash, re-hashed to argon2id at the first successful login.
  legacy boolean NOT NULL DEFAULT false,
  -- Per-account lockout: consecutive failures, and the lock they led to.
  failed_count int NOT NULL DEFAULT 0,
  last_failed_at timestamptz,
  locked_until timestamptz,
  -- Shared accounts (a back-up admin): a second live session is allowed, warned about, or refused.
  concurrent_sessions text NOT NULL DEFAULT 'allow' CHECK (concurrent_sessions IN ('allow', 'warn', 'refuse')),
  password_changed_at timestamptz,
  last_login_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((hash IS NULL) = (algorithm IS NULL))
);
CREATE INDEX credential_institution ON identity.credential (institution_id);

-- One-time links (forgot password, set password, e-mail login). Only a SHA-256 of the token is
-- kept: the raw token exists in the e-mail and nowhere else once the mail is sent.
CREATE TABLE identity.token (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash bytea NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('reset', 'set_password', 'email_login')),
  user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  institution_id uuid NOT NULL REFERENCES institution (id),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX token_user ON identity.token (user_id, kind) WHERE used_at IS NULL;

-- Failure counters for throttling, one row per key in a fixed window:
--   'addr:<address or /64>'          failures from one client address, across accounts
--   'pair:<user id>:<address>'       failures against one account from one address
--   'reset-addr:...', 'reset-user:...' forgot-password requests (mail bombing)
CREATE TABLE identity.login_counter (
  key text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  failures int NOT NULL
);
CREATE INDEX login_counter_window ON identity.login_counter (window_start);

-- Addresses an account logged in from successfully: a locked account still admits a correct
-- password from these (see src/domain/identity/throttle.ts for the trade-off).
CREATE TABLE identity.known_address (
  user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  address text NOT NULL,
  last_success_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, address)
);

-- Browser sessions (the login pages). id is what the API shows; id_hash is the SHA-256 of the
-- cookie value, so a database read gives no usable cookie.
CREATE TABLE identity.session (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  id_hash bytea NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  institution_id uuid NOT NULL REFERENCES institution (id),
  auth_method text NOT NULL DEFAULT 'password',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  user_agent text,
  client_address text
);
CREATE INDEX session_by_user ON identity.session (user_id) WHERE revoked_at IS NULL;

-- Where an EXTERNAL user came from when staff toggled it to INTERNAL (an SSO outage): Alma wants
-- external_id empty on INTERNAL users, and toggling back must restore it.
CREATE TABLE identity.account_toggle (
  user_id uuid PRIMARY KEY REFERENCES app_user (id) ON DELETE CASCADE,
  institution_id uuid NOT NULL REFERENCES institution (id),
  previous_external_id text NOT NULL,
  toggled_at timestamptz NOT NULL DEFAULT now()
);

-- Outgoing mail, written in the transaction that makes the reason for it (a link), sent after
-- commit by the sender with retries. In the public schema: mail is not only identity's (notices,
-- job reports will use it too).
CREATE TABLE mail_outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  institution_id uuid REFERENCES institution (id) ON DELETE CASCADE,
  to_address text NOT NULL,
  subject text NOT NULL,
  text text NOT NULL,
  html text,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'logged', 'failed')),
  attempts int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mail_outbox_institution ON mail_outbox (institution_id, id);
