-- Closing a union into a successor and moving a union under another parent (issue 13).
--
-- A union's place in the tree (parent, path, anchor) used to be fixed by a trigger. It may now
-- change, but only inside the move procedure (`infra/src/usecases/unions/moving.rs`), which sets
-- the transaction-local flag `zhijian.moving_union` and keeps paths and anchors exact: one
-- small transaction rewrites the paths and anchors of the moved subtree's unions and records a
-- `union_moves` row; the dependent rows (applications, members, audit reach) of the unions whose
-- anchor changed are then listed (`union_move_rows`) and re-anchored in batches, each its own
-- transaction, and the row records the progress, so an interrupted move resumes (the server's
-- `union_moves` job).
--
-- Invariant while a move runs (status `running`): every union has its final path and anchor,
-- every dependent row inserted or moved since has its final anchor (the triggers read the
-- union's), and each older row carries either its old anchor or its new one — never both, never
-- none. A listing by union (any admin at or below a township) is exact throughout; a listing by
-- anchor (county, city, province) shows each such row under exactly one of the two anchors, and
-- under the new one alone once the move is `done`. Kind and region stay fixed.
CREATE OR REPLACE FUNCTION unions_place_is_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('zhijian.moving_union', true) = 'on'
       AND OLD.kind = NEW.kind AND OLD.region_code = NEW.region_code THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'a union''s place in the tree (parent, path, kind, region, anchor) is fixed'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

-- One row per move: what moved where, which unions changed anchor, and how far the batches got.
CREATE TABLE union_moves (
    id               bigserial   PRIMARY KEY,
    union_id         bigint      NOT NULL REFERENCES unions (id),
    from_parent_id   bigint      NOT NULL REFERENCES unions (id),
    to_parent_id     bigint      NOT NULL REFERENCES unions (id),
    from_anchor_id   bigint      NOT NULL REFERENCES unions (id),
    to_anchor_id     bigint      NOT NULL REFERENCES unions (id),
    -- The unions of the subtree whose anchor changed: their rows are re-anchored.
    reanchored       bigint[]    NOT NULL,
    status           text        NOT NULL CHECK (status IN ('running', 'done')),
    batch_size       integer     NOT NULL CHECK (batch_size > 0),
    -- Whether the rows to re-anchor are listed in `union_move_rows` (step 2 of the move).
    collected        boolean     NOT NULL DEFAULT false,
    batches          integer     NOT NULL DEFAULT 0,
    rows_moved       bigint      NOT NULL DEFAULT 0,
    longest_batch_ms integer     NOT NULL DEFAULT 0,
    actor_id         uuid,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    CHECK ((status = 'done') = (finished_at IS NOT NULL))
);
-- One move at a time: a second one waits for the first to finish (409 `union_move_in_progress`).
CREATE UNIQUE INDEX union_moves_one_running ON union_moves ((true)) WHERE status = 'running';
CREATE INDEX union_moves_union_idx ON union_moves (union_id, id);

-- The rows a running move still has to re-anchor, listed once (one scan of the unions' rows)
-- and taken in `seq` order a batch at a time, so each batch costs its own size, not the
-- subtree's. An application or member by id; an audit reach row by its key.
CREATE TABLE union_move_rows (
    move_id   bigint    NOT NULL REFERENCES union_moves (id),
    seq       bigserial,
    kind      text      NOT NULL CHECK (kind IN ('application', 'member', 'audit_reach')),
    row_id    uuid,
    audit_id  bigint,
    via       text,
    union_id  bigint,
    PRIMARY KEY (move_id, seq),
    CHECK ((kind = 'audit_reach') = (row_id IS NULL))
);

-- The trail records changes to unions themselves (a close, a move) with object kind `union`,
-- which the previous migration (`union_admin`) already added to the constraint and to
-- `audit_object_unions`.

-- Affiliation periods also begin and end with reason `reorganised` (a union closed into its
-- successor); the columns are free text written by the use cases, so nothing changes here.
