-- Who made each manual edit of a protected field, and when (issue 10): field -> {actorType,
-- actorId, label, at}. Beside manual_edits (the set of fields) rather than replacing it: the SIS
-- merge and Alma's PUT keep reading the set; the origin is what an integration profile's
-- apiKeyEditsAreManual decides on at load time, and what the console shows. A field in
-- manual_edits without an origin was marked before this migration, when only staff marked.
ALTER TABLE app_user ADD COLUMN manual_edit_origins jsonb NOT NULL DEFAULT '{}'::jsonb;
