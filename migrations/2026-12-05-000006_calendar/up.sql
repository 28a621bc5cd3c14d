-- The working-day calendar per year (issue 13): a year is loaded when it has a row here. Each
-- replacement of a year's days is conditional on the `version` the admin saw and takes a new
-- `revision` from one sequence, so every server can tell whether the calendar changed since it
-- loaded it by reading one number (`max(revision)`, an index lookup) in the transaction that
-- computes a deadline.
CREATE SEQUENCE calendar_revision;

CREATE TABLE calendar_years (
    year       smallint    PRIMARY KEY CHECK (year BETWEEN 2000 AND 2099),
    version    integer     NOT NULL CHECK (version > 0),
    revision   bigint      NOT NULL DEFAULT nextval('calendar_revision'),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- The admin who replaced the year; NULL for the rows a migration wrote.
    updated_by uuid        REFERENCES admins (id),
    -- How the days came: `migration` (shipped), `json` or `csv` (PUT /v1/admin/calendar/{year}).
    source     text        NOT NULL CHECK (source IN ('migration', 'json', 'csv'))
);
ALTER SEQUENCE calendar_revision OWNED BY calendar_years.revision;
CREATE UNIQUE INDEX calendar_years_revision_idx ON calendar_years (revision);

-- The years already in calendar_days (2026, shipped by the foundation migration) are loaded.
INSERT INTO calendar_years (year, version, source)
SELECT DISTINCT extract(year FROM day)::smallint, 1, 'migration'
FROM calendar_days
ORDER BY 1;

-- The audit trail records replacements of a year (object kind `calendar`, object id the year).
-- The kind is added to whatever list the constraint holds, so the migrations of other kinds
-- compose in any order.
DO $$
DECLARE
    definition text;
BEGIN
    SELECT pg_get_constraintdef(oid) INTO definition
    FROM pg_constraint
    WHERE conname = 'audit_log_object_kind' AND conrelid = 'audit_log'::regclass;
    IF definition IS NULL OR position('ARRAY[' IN definition) = 0 THEN
        RAISE EXCEPTION 'audit_log_object_kind has an unexpected form: %', definition;
    END IF;
    EXECUTE 'ALTER TABLE audit_log DROP CONSTRAINT audit_log_object_kind';
    EXECUTE 'ALTER TABLE audit_log ADD CONSTRAINT audit_log_object_kind '
        || replace(definition, 'ARRAY[', 'ARRAY[''calendar''::text, ');
END;
$$;
