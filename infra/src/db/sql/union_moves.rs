//! The statements of a union's move (`crate::store::union_changes`), by hand because the DSL
//! cannot say them: the rewrite of a subtree's paths by prefix, the anchors recomputed from each
//! path (the rule of migration `queue_anchor`), the list of dependent rows to re-anchor, and
//! the batches that take rows off that list and re-anchor them (data-modifying CTEs).

/// The paths of a subtree: `$1` the moved union's old path, `$2` its new one. The transaction
/// sets `zhijian.moving_union` first (the trigger `unions_place_is_fixed` allows it then).
pub const MOVE_PATHS: &str = "UPDATE unions SET path = $2 || substr(path, length($1) + 1) \
     WHERE path LIKE $1 || '%'";

/// The types of [`MOVE_PATHS`]'s parameters.
pub const MOVE_PATHS_PARAMETERS: [&str; 2] = ["text", "text"];

/// Every union of the subtree at path `$1` gets the anchor its path gives it: the deepest union
/// on the path that is a root or a federation of a province, city or county. Returns the unions
/// whose anchor changed, with the new anchor.
pub const REANCHOR_UNIONS: &str = "UPDATE unions u SET anchor_id = n.anchor \
     FROM (SELECT s.id, (SELECT a.id \
             FROM unnest(string_to_array(btrim(s.path, '/'), '/')::bigint[]) WITH ORDINALITY p (id, depth) \
             JOIN unions a ON a.id = p.id \
             WHERE p.depth = 1 OR (a.kind = 'federation' AND length(a.region_code) <= 6) \
             ORDER BY p.depth DESC LIMIT 1) AS anchor \
           FROM unions s WHERE s.path LIKE $1 || '%') n \
     WHERE u.id = n.id AND u.anchor_id <> n.anchor \
     RETURNING u.id, u.anchor_id";

/// The types of [`REANCHOR_UNIONS`]'s parameters.
pub const REANCHOR_UNIONS_PARAMETERS: [&str; 1] = ["text"];

/// Lists the applications of move `$1` to re-anchor: those of its unions `$2` with another
/// anchor than `$3` (rows written after the move's first transaction have `$3` already: the
/// triggers read their union's anchor).
pub const COLLECT_APPLICATIONS: &str = "INSERT INTO union_move_rows (move_id, kind, row_id) \
     SELECT $1, 'application', id FROM applications WHERE union_id = ANY($2) AND anchor_id <> $3";

/// Lists the members of move `$1` to re-anchor, as [`COLLECT_APPLICATIONS`].
pub const COLLECT_MEMBERS: &str = "INSERT INTO union_move_rows (move_id, kind, row_id) \
     SELECT $1, 'member', id FROM members WHERE union_id = ANY($2) AND anchor_id <> $3";

/// Lists the audit reach rows of move `$1` to re-anchor, as [`COLLECT_APPLICATIONS`].
pub const COLLECT_AUDIT_REACH: &str = "INSERT INTO union_move_rows (move_id, kind, audit_id, via, union_id) \
     SELECT $1, 'audit_reach', audit_id, via, union_id FROM audit_reach \
     WHERE union_id = ANY($2) AND anchor_id <> $3";

/// The types of the collections' parameters.
pub const COLLECT_PARAMETERS: [&str; 3] = ["int8", "int8[]", "int8"];

/// One batch of move `$1`: takes its first `$2` listed rows off the list and gives each its
/// union's anchor (the triggers of `applications` and `members` do it for them; audit reach
/// reads it); answers how many were taken (`n`).
pub const REANCHOR_BATCH: &str = "WITH batch AS ( \
         DELETE FROM union_move_rows w USING ( \
             SELECT move_id, seq FROM union_move_rows WHERE move_id = $1 ORDER BY seq LIMIT $2) t \
         WHERE w.move_id = t.move_id AND w.seq = t.seq \
         RETURNING w.kind, w.row_id, w.audit_id, w.via, w.union_id), \
     a AS (UPDATE applications x SET anchor_id = u.anchor_id FROM batch b, unions u \
           WHERE b.kind = 'application' AND x.id = b.row_id AND u.id = x.union_id), \
     m AS (UPDATE members x SET anchor_id = u.anchor_id FROM batch b, unions u \
           WHERE b.kind = 'member' AND x.id = b.row_id AND u.id = x.union_id), \
     r AS (UPDATE audit_reach x SET anchor_id = u.anchor_id FROM batch b, unions u \
           WHERE b.kind = 'audit_reach' AND x.audit_id = b.audit_id AND x.via = b.via \
             AND x.union_id = b.union_id AND u.id = x.union_id) \
     SELECT count(*) AS n FROM batch";

/// The types of [`REANCHOR_BATCH`]'s parameters.
pub const REANCHOR_BATCH_PARAMETERS: [&str; 2] = ["int8", "int8"];

/// The statements, as [`super::statements`] registers them.
pub fn statements() -> Vec<super::Statement> {
    let one = |name: &str, sql: &str, parameters: &[&'static str]| super::Statement {
        name: format!("union move: {name}"),
        sql: sql.to_owned(),
        parameters: Some(parameters.to_vec()),
    };
    vec![
        one("paths", MOVE_PATHS, &MOVE_PATHS_PARAMETERS),
        one("anchors", REANCHOR_UNIONS, &REANCHOR_UNIONS_PARAMETERS),
        one("applications", COLLECT_APPLICATIONS, &COLLECT_PARAMETERS),
        one("members", COLLECT_MEMBERS, &COLLECT_PARAMETERS),
        one("audit reach", COLLECT_AUDIT_REACH, &COLLECT_PARAMETERS),
        one("batch", REANCHOR_BATCH, &REANCHOR_BATCH_PARAMETERS),
    ]
}
