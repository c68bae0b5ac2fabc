-- Sign-in throttling that no anonymous party can turn against an account's owner
-- (src/domain/identity/throttle.ts has the design; docs/sign-in-throttling.md the numbers).

-- An e-mailed link that lifts every sign-in block on the account, once.
ALTER TABLE identity.token DROP CONSTRAINT IF EXISTS token_kind_check;
ALTER TABLE identity.token ADD CONSTRAINT token_kind_check
  CHECK (kind IN ('reset', 'set_password', 'email_login', 'unlock'));

-- The account's guess budget (a rate, never a lock): every counted failure moves guess_debt_until
-- one interval further (from now at the earliest); unfamiliar sources are refused while it is more
-- than the burst ahead of now. throttle_reset_at: counters of this account older than it no longer
-- count (an unlock link or a new password lifts every block in one write).
ALTER TABLE identity.credential ADD COLUMN guess_debt_until timestamptz;
ALTER TABLE identity.credential ADD COLUMN throttle_reset_at timestamptz;

-- 'pair:<user id>:<source>' rows (one account from one address, or through one API key) are
-- streaks: window_start is the streak's latest failure, refuse_until the progressive delay.
ALTER TABLE identity.login_counter ADD COLUMN refuse_until timestamptz;

-- An op=auth caller (a discovery layer, a proxy) whose key may name the end user's address in
-- X-Carrel-Client-Address; other keys' headers are ignored and their calls count per key.
ALTER TABLE api_key ADD COLUMN trusts_client_address boolean NOT NULL DEFAULT false;
