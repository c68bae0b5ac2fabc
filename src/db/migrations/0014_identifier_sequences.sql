-- Generated identifiers (src/domain/users/identifier-generation.ts): the last sequence number
-- handed out per uniqueness scope and rule. The scope is the institution, or its network when
-- the network keeps identifiers unique across institutions (so members sharing a prefix draw
-- from one counter rather than racing for the same values); the rule key is the identifier type
-- and prefix, so a new prefix starts at 1 and record types sharing a rule share its counter.
-- A writer takes its numbers with one UPDATE ... RETURNING in its own transaction: the row lock
-- keeps two writers from ever getting the same number, and a rolled-back write hands its numbers
-- back with it. No foreign key: the scope is an institution or a network id.
CREATE TABLE identifier_sequence (
  scope_id uuid NOT NULL,
  rule_key text NOT NULL,
  last_value bigint NOT NULL CHECK (last_value >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope_id, rule_key)
);
