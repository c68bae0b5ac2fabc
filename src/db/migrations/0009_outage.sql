-- The SSO-outage procedure (issue 9, scope 7) and sign-in events (scope 5).

-- Break-glass accounts (the back-up admin of an outage): every sign-in of one e-mails the
-- addresses the network names and is audited. A flag on the credential, since such an account
-- is one with a local password by definition.
ALTER TABLE identity.credential ADD COLUMN break_glass boolean NOT NULL DEFAULT false;

-- Which outage job toggled the user to INTERNAL, while it still stands: a toggle by hand rewrites
-- (or deletes) the row, so the job's revert leaves that user alone.
ALTER TABLE identity.account_toggle ADD COLUMN job_id uuid REFERENCES job (id) ON DELETE SET NULL;

-- The users an 'account-type-toggle' job chose, one row each, planned once at its first run and
-- then settled one transaction per user (resumable after a crash, never twice). A temporary
-- password exists raw nowhere: sealed_password holds it encrypted to a public key whose private
-- half only the admin who started the job holds, until the one download clears it.
CREATE TABLE identity.outage_toggle (
  job_id uuid NOT NULL REFERENCES job (id) ON DELETE CASCADE,
  n int NOT NULL,
  user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  institution_id uuid NOT NULL REFERENCES institution (id),
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'toggled', 'failed', 'skipped', 'reverted', 'left', 'revert_failed')),
  temporary_password boolean NOT NULL DEFAULT false,
  sealed_password bytea,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, n),
  UNIQUE (job_id, user_id)
);
CREATE INDEX outage_toggle_user ON identity.outage_toggle (user_id);

-- One live revert per toggle job: a failed or cancelled one may be started again (each user's
-- revert is its own transaction, so a second run does only what the first did not).
CREATE UNIQUE INDEX job_one_revert ON job ((payload ->> 'toggleJobId'))
  WHERE kind = 'account-type-revert' AND status IN ('queued', 'running', 'succeeded');

-- Sign-in events (actions 'sign_in', 'sign_in.failed') listed per institution, newest first.
CREATE INDEX audit_event_sign_in ON audit_event (institution_id, id) WHERE action IN ('sign_in', 'sign_in.failed');
