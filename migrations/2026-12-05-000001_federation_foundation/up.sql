-- Columns the federation's own management of its tree and its admins builds on (issue 13):
-- every change to a union or an admin is conditional on the version the client saw.

ALTER TABLE unions
    ADD COLUMN version      integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    ADD COLUMN updated_at   timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN closed_at    timestamptz,
    ADD COLUMN successor_id bigint      REFERENCES unions (id),
    ADD CONSTRAINT unions_successor_only_when_closed CHECK (successor_id IS NULL OR closed_at IS NOT NULL);

ALTER TABLE admins
    ADD COLUMN version              integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    ADD COLUMN updated_at           timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN disabled_at          timestamptz,
    ADD COLUMN must_change_password boolean     NOT NULL DEFAULT false,
    ADD COLUMN password_changed_at  timestamptz;
