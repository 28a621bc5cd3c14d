//! One keyset page of the rows (applications, members) held by the unions of a subtree, in key
//! order, at a cost that follows the number of *parts* the subtree is read as — not the number
//! of rows in it or in the table.
//!
//! A part is one status of one anchor or one union, a range of an index ordered by the key:
//!
//! - when the subtree's root is an anchor (a root, or a province, city or county federation:
//!   `unions.anchor_id = id`, migration `anchors`), the anchors inside it, on
//!   `(anchor_id, status, key…)` — a county is one anchor, a city its own and its
//!   counties', whatever the size of the tables;
//! - otherwise (a township federation, an enterprise or industry union, a pool) each union of
//!   the subtree, on `(union_id, status, key…)`.
//!
//! Every union of an anchor's subtree has its anchor inside that subtree, so the rows whose
//! anchor is an anchor of the subtree are exactly the subtree's rows. Then, index-only:
//!
//! 1. `firsts`: each part's first matching key — one key per part;
//! 2. `bound`: the `limit`-th smallest of those keys (or +∞ when fewer parts have any). These
//!    `limit` parts alone hold `limit` keys at or before it, so the page lies at or before it;
//! 3. for each part whose first key is at or before the bound, its keys up to the bound's first
//!    column (at most `limit`), merged; the first `limit` ids are the page.
//!
//! The bound is applied to the key's first column alone in step 3: a B-tree scan stops at the
//! first later value, whereas a row comparison would only stop at the end of a run of equal
//! first columns (a day's applications often share one deadline). Both branches are in one
//! statement; one-time filters skip the one that does not apply, so the plan is generic and
//! prepared once.

/// Runs a page's id statement ([`SubtreePage::ids_sql`] with its binds): the ids, in order.
pub(crate) fn load_ids<S: crate::db::NumberedStatement>(
    conn: &mut diesel::PgConnection,
    statement: S,
) -> Result<Vec<uuid::Uuid>, crate::db::StoreError> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    Ok(crate::db::Numbered(statement)
        .load::<Key>(conn)?
        .into_iter()
        .map(|k| k.id)
        .collect())
}

/// What to page through: the SQL pieces of one listing. Placeholders (`$n`) are the caller's.
pub(crate) struct SubtreePage<'a> {
    /// The table, read as `a`: it has `union_id`, `anchor_id` (kept by trigger) and `status`.
    pub table: &'static str,
    /// The key columns, in order; the last one is `id` (unique, and what the page returns).
    pub keys: &'static [&'static str],
    /// A value above every key, column by column (`'infinity'::timestamptz`, …).
    pub above_all: &'static [&'static str],
    /// The subtree: the range `[path_from, path_to)` of `unions.path`.
    pub path_from: &'a str,
    /// See `path_from`.
    pub path_to: &'a str,
    /// A `text[]` expression: the statuses listed (one part per status).
    pub statuses: &'a str,
    /// Further conditions on `a` (each starting with ` AND `), the keyset cursor included.
    pub conditions: &'a str,
    /// The page size.
    pub limit: &'a str,
}

impl SubtreePage<'_> {
    /// The statement returning the page's ids (`id uuid`), in key order.
    pub fn ids_sql(&self) -> String {
        let SubtreePage {
            table,
            keys,
            above_all,
            path_from,
            path_to,
            statuses,
            conditions,
            limit,
        } = self;
        let list = |prefix: &str| {
            keys.iter()
                .map(|k| format!("{prefix}{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (a_keys, f_keys, q_keys, plain) = (list("a."), list("f."), list("q."), list(""));
        debug_assert_eq!(keys.last(), Some(&"id"), "the key ends with the row's id");
        let first = keys[0];
        let parts = |anchored: bool| {
            let (flag, branch, only_anchors) = if anchored {
                ("true", "", " AND u.anchor_id = u.id")
            } else {
                ("false", "NOT ", "")
            };
            format!(
                "SELECT u.id AS part, {flag} AS anchored, s.status FROM unions u \
                 CROSS JOIN unnest({statuses}) s (status) \
                 WHERE {branch}(SELECT anchored FROM scope){only_anchors} \
                   AND u.path ~>=~ {path_from} AND u.path ~<~ {path_to}"
            )
        };
        let read = |outer: &str, extra: &str, take: &str| {
            let one = |anchored: bool| {
                let (branch, column) = if anchored {
                    ("", "anchor_id")
                } else {
                    ("NOT ", "union_id")
                };
                format!(
                    "(SELECT {a_keys} FROM {table} a \
                      WHERE {branch}{outer}.anchored AND a.{column} = {outer}.part \
                        AND a.status = {outer}.status{extra}{conditions} \
                      ORDER BY {a_keys} LIMIT {take})"
                )
            };
            format!("{} UNION ALL {}", one(true), one(false))
        };
        format!(
            "WITH scope AS MATERIALIZED ( \
                 SELECT anchor_id = id AS anchored FROM unions WHERE path = {path_from}), \
             parts AS MATERIALIZED ({} UNION ALL {}), \
             firsts AS MATERIALIZED ( \
                 SELECT p.part, p.anchored, p.status, {f_keys} FROM parts p \
                 CROSS JOIN LATERAL ({}) f), \
             bound AS ( \
                 SELECT {plain} FROM ( \
                     (SELECT {plain} FROM firsts ORDER BY {plain} OFFSET {limit} - 1 LIMIT 1) \
                     UNION ALL SELECT {} \
                 ) b ORDER BY {plain} LIMIT 1) \
             SELECT q.id FROM firsts f \
             CROSS JOIN LATERAL ({}) q \
             WHERE ({f_keys}) <= (SELECT {plain} FROM bound) \
             ORDER BY {q_keys} LIMIT {limit}",
            parts(true),
            parts(false),
            read("p", "", "1"),
            above_all.join(", "),
            read(
                "f",
                &format!(" AND a.{first} <= (SELECT {first} FROM bound)"),
                limit
            ),
        )
    }
}
