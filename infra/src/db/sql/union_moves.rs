//! The statements of a union's move (`crate::store::union_changes`), by hand because the DSL
//! cannot say them: the rewrite of a subtree's paths by prefix, the anchors recomputed from each
//! path (the rule of migration `queue_anchor`), and the batches that re-anchor dependent rows
//! (`UPDATE … WHERE key IN (SELECT … LIMIT n)`).

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

/// One batch of applications of the unions `$1` still carrying another anchor than `$2`, at
/// most `$3` (the trigger `applications_anchor` gives each its union's anchor, which is `$2`).
pub const REANCHOR_APPLICATIONS: &str = "UPDATE applications SET anchor_id = $2 \
     WHERE id IN (SELECT id FROM applications \
                  WHERE union_id = ANY($1) AND anchor_id <> $2 LIMIT $3)";

/// One batch of members, as [`REANCHOR_APPLICATIONS`].
pub const REANCHOR_MEMBERS: &str = "UPDATE members SET anchor_id = $2 \
     WHERE id IN (SELECT id FROM members \
                  WHERE union_id = ANY($1) AND anchor_id <> $2 LIMIT $3)";

/// One batch of audit reach rows, as [`REANCHOR_APPLICATIONS`].
pub const REANCHOR_AUDIT_REACH: &str = "UPDATE audit_reach r SET anchor_id = $2 \
     FROM (SELECT audit_id, via, union_id FROM audit_reach \
           WHERE union_id = ANY($1) AND anchor_id <> $2 LIMIT $3) b \
     WHERE r.audit_id = b.audit_id AND r.via = b.via AND r.union_id = b.union_id";

/// The types of the batches' parameters.
pub const REANCHOR_PARAMETERS: [&str; 3] = ["int8[]", "int8", "int8"];

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
        one("applications", REANCHOR_APPLICATIONS, &REANCHOR_PARAMETERS),
        one("members", REANCHOR_MEMBERS, &REANCHOR_PARAMETERS),
        one("audit reach", REANCHOR_AUDIT_REACH, &REANCHOR_PARAMETERS),
    ]
}
