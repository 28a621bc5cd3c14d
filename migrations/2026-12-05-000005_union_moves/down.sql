DROP TABLE union_move_rows;
DROP TABLE union_moves;

CREATE OR REPLACE FUNCTION unions_place_is_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a union''s place in the tree (parent, path, kind, region, anchor) is fixed'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
