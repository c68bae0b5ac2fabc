-- Named users (Alma's licence unit): the daily history of the count, and the licence state each
-- network was last told about, so a crossing of the warning line or of the licence is mailed once.

-- One row per institution and day (the network's count is the sum of its institutions' rows of
-- that day). Written by the worker's daily snapshot and on demand; a second run of a day updates.
CREATE TABLE named_user_count (
  institution_id uuid NOT NULL REFERENCES institution (id) ON DELETE CASCADE,
  network_id uuid REFERENCES network (id) ON DELETE CASCADE,
  day date NOT NULL,
  count int NOT NULL CHECK (count >= 0),
  taken_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (institution_id, day)
);
CREATE INDEX named_user_count_network ON named_user_count (network_id, day);

-- The level a network's count was last at: ok, warning (at or past the warning line) or limit
-- (at or past the licence). Only a move up is mailed; a move down re-arms the next crossing.
CREATE TABLE named_user_licence_state (
  network_id uuid PRIMARY KEY REFERENCES network (id) ON DELETE CASCADE,
  level text NOT NULL CHECK (level IN ('ok', 'warning', 'limit')),
  count int NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now()
);
