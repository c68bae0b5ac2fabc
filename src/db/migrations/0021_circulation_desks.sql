-- Circulation desks as a code table (issue 10): a circulation desk operator's CirculationDesk
-- role parameter names one, the console offers them in a select, and a desk a role names cannot
-- be removed (src/db/queries/code-tables.ts). New institutions get the default desk with the rest
-- of their tables (default-code-tables.ts); this gives it to the institutions that exist.
INSERT INTO code_table_value (institution_id, table_name, code, description)
SELECT id, 'CirculationDesks', 'DEFAULT_CIRC_DESK', 'Main Library circulation desk' FROM institution
ON CONFLICT DO NOTHING;
