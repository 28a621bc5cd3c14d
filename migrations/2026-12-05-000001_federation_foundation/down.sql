ALTER TABLE admins
    DROP COLUMN password_changed_at,
    DROP COLUMN must_change_password,
    DROP COLUMN disabled_at,
    DROP COLUMN updated_at,
    DROP COLUMN version;

ALTER TABLE unions
    DROP CONSTRAINT unions_successor_only_when_closed,
    DROP COLUMN successor_id,
    DROP COLUMN closed_at,
    DROP COLUMN updated_at,
    DROP COLUMN version;
