//! One keyset page of the rows (applications, members, audit reach) held by the unions of a
//! subtree, in key order, at a cost that follows the number of *parts* the subtree is read as —
//! not the number of rows in it or in the table.
//!
//! A part is one value of the part column (a status, an object kind) of one anchor or one
//! union, a range of an index ordered by the key:
//!
//! - when the subtree's root is an anchor (a root, or a province, city or county federation:
//!   `unions.anchor_id = id`, migration `queue_anchor`), the anchors inside it, on
//!   `(anchor_id, part column, key…)` — a county is one anchor, a city its own and its
//!   counties', whatever the size of the tables;
//! - otherwise (a township federation, an enterprise or industry union, a pool) each union of
//!   the subtree, on `(union_id, part column, key…)`.
//!
//! Every union of an anchor's subtree has its anchor inside that subtree, so the rows whose
//! anchor is an anchor of the subtree are exactly the subtree's rows. Then, index-only:
//!
//! 1. `firsts`: each part's first matching key — one key per part;
//! 2. `bound`: the `limit`-th of those keys in the page's order (or past all when fewer parts have
//!    any). These `limit` parts alone hold `limit` keys up to it, so the page lies up to it;
//! 3. for each part whose first key is up to the bound, its keys up to the bound's first column
//!    (at most `limit`), merged; the first `limit` ids are the page.
//!
//! A table may hold one row twice for a subtree (`distinct`): an audit row reaches its actor's
//! union and its object's, often both in one subtree and even in one part. Then each step counts
//! distinct keys — the page is still the first `limit` distinct keys of the union of the parts,
//! since each of them is among the first `limit` distinct keys of its own part.
//!
//! The bound is applied to the key's first column alone in step 3: a B-tree scan stops at the
//! first later value, whereas a row comparison would only stop at the end of a run of equal
//! first columns (a day's applications often share one deadline). Both branches are in one
//! statement; one-time filters skip the one that does not apply, so the plan is generic and
//! prepared once.

use chrono::{DateTime, Utc};
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::AstPass;
use diesel::{QueryResult, QueryableByName, RunQueryDsl};
use zhijian_domain::admin::UnionPath;

use crate::db::{Numbered, NumberedStatement, StoreError};

/// The value of a parameter of [`SubtreePage::conditions`].
pub(crate) enum Param {
    /// `text`.
    Text(String),
    /// `timestamptz`.
    Time(DateTime<Utc>),
    /// `uuid`.
    Uuid(uuid::Uuid),
    /// `bigint`.
    BigInt(i64),
}

/// One page of a listing over a subtree. The statement's own parameters are `$1`–`$4` (the
/// subtree's path range, the part values, the limit); the caller's conditions start at `$5`.
pub(crate) struct SubtreePage<'a> {
    /// The table, its parts and its keys ([`Listing`]).
    pub listing: Listing,
    /// The subtree.
    pub scope: &'a UnionPath,
    /// The values of the part column listed (one part per value).
    pub part_values: Vec<&'static str>,
    /// The page size.
    pub limit: i64,
    /// Further conditions on `a` (each starting with ` AND `), the keyset cursor included.
    pub conditions: String,
    /// The values of `$5`, `$6`…: `extra[i]` is `$(5 + i)`; `None` for a parameter whose
    /// condition is left out (it is then never bound).
    pub extra: Vec<Option<Param>>,
}

/// The type of a page's ids: `uuid` (applications, members) or `bigint` (audit rows).
pub(crate) trait PageId: Sized {
    /// Runs the page's statement.
    fn load(statement: PageStatement, conn: &mut PgConnection) -> Result<Vec<Self>, StoreError>;
}

impl PageId for uuid::Uuid {
    fn load(statement: PageStatement, conn: &mut PgConnection) -> Result<Vec<Self>, StoreError> {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        let rows = Numbered(statement).load::<Id>(conn)?;
        Ok(rows.into_iter().map(|row| row.id).collect())
    }
}

impl PageId for i64 {
    fn load(statement: PageStatement, conn: &mut PgConnection) -> Result<Vec<Self>, StoreError> {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        let rows = Numbered(statement).load::<Id>(conn)?;
        Ok(rows.into_iter().map(|row| row.id).collect())
    }
}

impl SubtreePage<'_> {
    /// The page's ids, in key order.
    pub fn load_ids<T: PageId>(self, conn: &mut PgConnection) -> Result<Vec<T>, StoreError> {
        T::load(self.statement(""), conn)
    }

    /// `EXPLAIN (ANALYZE, BUFFERS)` of the very statement [`Self::load_ids`] runs, executed once.
    pub fn explain(self, conn: &mut PgConnection) -> Result<Vec<String>, StoreError> {
        #[derive(QueryableByName)]
        struct Line {
            #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
            line: String,
        }
        let statement = self.statement("EXPLAIN (ANALYZE, BUFFERS) ");
        Ok(Numbered(statement)
            .load::<Line>(conn)?
            .into_iter()
            .map(|l| l.line)
            .collect())
    }

    fn statement(self, prefix: &str) -> PageStatement {
        PageStatement {
            sql: format!("{prefix}{}", self.ids_sql()),
            path_from: self.scope.to_string(),
            path_to: self.scope.subtree_end(),
            part_values: self.part_values,
            limit: self.limit,
            extra: self.extra,
        }
    }

    /// The statement returning the page's ids (`id`), in key order.
    fn ids_sql(&self) -> String {
        let Listing {
            table,
            part_column,
            keys,
            descending,
            past_all,
            distinct,
            ..
        } = &self.listing;
        let conditions = &self.conditions;
        let (path_from, path_to, part_values, limit) = ("$1", "$2", "$3::text[]", "$4");
        let (direction, up_to) = if *descending {
            (" DESC", ">=")
        } else {
            ("", "<=")
        };
        let distinct = if *distinct { "DISTINCT " } else { "" };
        let list = |prefix: &str, suffix: &str| {
            keys.iter()
                .map(|k| format!("{prefix}{k}{suffix}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (a_keys, f_keys, plain) = (list("a.", ""), list("f.", ""), list("", ""));
        let (a_order, q_order, plain_order) = (
            list("a.", direction),
            list("q.", direction),
            list("", direction),
        );
        let (first, last) = (keys[0], keys[keys.len() - 1]);
        let parts = |anchored: bool| {
            let (flag, branch, only_anchors) = if anchored {
                ("true", "", " AND u.anchor_id = u.id")
            } else {
                ("false", "NOT ", "")
            };
            format!(
                "SELECT u.id AS part, {flag} AS anchored, s.value FROM unions u \
                 CROSS JOIN unnest({part_values}) s (value) \
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
                    "(SELECT {distinct}{a_keys} FROM {table} a \
                      WHERE {branch}{outer}.anchored AND a.{column} = {outer}.part \
                        AND a.{part_column} = {outer}.value{extra}{conditions} \
                      ORDER BY {a_order} LIMIT {take})"
                )
            };
            format!("{} UNION ALL {}", one(true), one(false))
        };
        format!(
            "WITH scope AS MATERIALIZED ( \
                 SELECT anchor_id = id AS anchored FROM unions WHERE path = {path_from}), \
             parts AS MATERIALIZED ({} UNION ALL {}), \
             firsts AS MATERIALIZED ( \
                 SELECT p.part, p.anchored, p.value, {f_keys} FROM parts p \
                 CROSS JOIN LATERAL ({}) f), \
             bound AS ( \
                 SELECT {plain} FROM ( \
                     (SELECT {distinct}{plain} FROM firsts \
                      ORDER BY {plain_order} OFFSET {limit} - 1 LIMIT 1) \
                     UNION ALL SELECT {} \
                 ) b ORDER BY {plain_order} LIMIT 1) \
             SELECT {distinct}{q_keys_but_last}q.{last} AS id FROM firsts f \
             CROSS JOIN LATERAL ({}) q \
             WHERE ({f_keys}) {up_to} (SELECT {plain} FROM bound) \
             ORDER BY {q_order} LIMIT {limit}",
            parts(true),
            parts(false),
            read("p", "", "1"),
            past_all.join(", "),
            read(
                "f",
                &format!(" AND a.{first} {up_to} (SELECT {first} FROM bound)"),
                limit
            ),
            q_keys_but_last = keys[..keys.len() - 1]
                .iter()
                .map(|k| format!("q.{k}, "))
                .collect::<String>(),
        )
    }
}

/// What stays the same from one page of a listing to the next: the table, its parts and its
/// keys. One constant per listing the store reads; [`Listing::page`] makes a [`SubtreePage`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listing {
    /// [`SubtreePage::table`].
    pub table: &'static str,
    /// [`SubtreePage::part_column`].
    pub part_column: &'static str,
    /// [`SubtreePage::keys`].
    pub keys: &'static [&'static str],
    /// [`SubtreePage::descending`].
    pub descending: bool,
    /// [`SubtreePage::past_all`].
    pub past_all: &'static [&'static str],
    /// [`SubtreePage::distinct`].
    pub distinct: bool,
    /// Each optional condition the store may add, in the order it adds them.
    pub options: &'static [ListingOption],
    /// The condition always present (first).
    pub always: &'static str,
}

/// An optional condition of a [`Listing`]: left out, or one of `alternatives`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListingOption {
    /// What it filters (for the statement's name).
    pub name: &'static str,
    /// The forms of the condition (each starting with ` AND `).
    pub alternatives: &'static [&'static str],
    /// The parameter numbers it uses and their SQL types.
    pub parameters: &'static [(usize, &'static str)],
}

/// The review queue (`crate::store::applications::queue`): applications by deadline.
pub(crate) const QUEUE: Listing = Listing {
    table: "applications",
    part_column: "status",
    keys: &["due_at", "id"],
    descending: false,
    past_all: &[
        "'infinity'::timestamptz",
        "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid",
    ],
    distinct: false,
    always: " AND a.due_at IS NOT NULL",
    options: &[
        ListingOption {
            name: "occupation",
            alternatives: &[" AND a.occupation = $5"],
            parameters: &[(5, "text")],
        },
        ListingOption {
            name: "overdue",
            alternatives: &[" AND a.due_at < $6", " AND a.due_at >= $6"],
            parameters: &[(6, "timestamptz")],
        },
        ListingOption {
            name: "cursor",
            alternatives: &[" AND (a.due_at, a.id) > ($7, $8)"],
            parameters: &[(7, "timestamptz"), (8, "uuid")],
        },
    ],
};

/// The member list (`crate::store::member_lifecycle::list`): members by id.
pub(crate) const MEMBERS: Listing = Listing {
    table: "members",
    part_column: "status",
    keys: &["id"],
    descending: false,
    past_all: &["'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid"],
    distinct: false,
    always: "",
    options: &[ListingOption {
        name: "cursor",
        alternatives: &[" AND a.id > $5"],
        parameters: &[(5, "uuid")],
    }],
};

/// The audit trail (`crate::store::audit_trail::list` without an object): newest first.
pub(crate) const AUDIT_REACH: Listing = Listing {
    table: "audit_reach",
    part_column: "object_kind",
    keys: &["audit_id"],
    descending: true,
    past_all: &["0"],
    distinct: true,
    always: "",
    options: &[ListingOption {
        name: "cursor",
        alternatives: &[" AND a.audit_id < $5"],
        parameters: &[(5, "bigint")],
    }],
};

impl Listing {
    /// A page of this listing without values (no part values, limit 0, no parameters): the
    /// store can fill them in with `SubtreePage { part_values, limit, extra, ..QUEUE.page(…) }`.
    pub(crate) fn page<'a>(&self, scope: &'a UnionPath, conditions: String) -> SubtreePage<'a> {
        SubtreePage {
            listing: *self,
            scope,
            part_values: Vec::new(),
            limit: 0,
            conditions,
            extra: Vec::new(),
        }
    }

    /// The conditions of one page: [`Listing::always`], then for each option in order the
    /// alternative `chosen` names (`None` leaves the option out). The store builds its
    /// conditions only through this, so they are the forms the tests prepare.
    pub(crate) fn conditions(&self, chosen: &[Option<usize>]) -> String {
        let mut conditions = self.always.to_owned();
        for (option, choice) in self.options.iter().zip(chosen) {
            if let Some(alternative) = choice.and_then(|i| option.alternatives.get(i)) {
                conditions.push_str(alternative);
            }
        }
        conditions
    }

    /// Every form of this listing's statement: each option left out or in each of its
    /// alternatives — named, with its text and the SQL types of its parameters.
    fn forms(&self) -> Vec<(String, String, Vec<&'static str>)> {
        let mut forms = vec![(Vec::new(), self.always.to_owned())];
        for option in self.options {
            let mut next = Vec::new();
            for (names, conditions) in &forms {
                next.push((names.clone(), conditions.clone()));
                for (i, alternative) in option.alternatives.iter().enumerate() {
                    let mut names = names.clone();
                    names.push(if option.alternatives.len() > 1 {
                        format!("{}#{}", option.name, i + 1)
                    } else {
                        option.name.to_owned()
                    });
                    next.push((names, format!("{conditions}{alternative}")));
                }
            }
            forms = next;
        }
        let mut parameters = vec!["text", "text", "text[]", "bigint"];
        for option in self.options {
            for &(n, sql_type) in option.parameters {
                if parameters.len() < n {
                    parameters.resize(n, "text");
                }
                parameters[n - 1] = sql_type;
            }
        }
        let root = UnionPath::root(zhijian_domain::ids::UnionId::new(1));
        forms
            .into_iter()
            .map(|(names, conditions)| {
                let name = if names.is_empty() {
                    format!("subtree page: {}", self.table)
                } else {
                    format!("subtree page: {} with {}", self.table, names.join(", "))
                };
                (
                    name,
                    self.page(&root, conditions).ids_sql(),
                    parameters.clone(),
                )
            })
            .collect()
    }
}

/// Every form of the subtree page the store builds, for [`super::statements`].
pub(crate) fn statements() -> Vec<super::Statement> {
    [QUEUE, MEMBERS, AUDIT_REACH]
        .iter()
        .flat_map(Listing::forms)
        .map(|(name, sql, parameters)| super::Statement {
            name,
            sql,
            parameters: Some(parameters),
        })
        .collect()
}

/// A [`SubtreePage`]'s statement with its values.
pub(crate) struct PageStatement {
    sql: String,
    path_from: String,
    path_to: String,
    part_values: Vec<&'static str>,
    limit: i64,
    extra: Vec<Option<Param>>,
}

impl NumberedStatement for PageStatement {
    type Id = ();
    const FIXED_TEXT: bool = false;

    fn sql(&self) -> &str {
        &self.sql
    }

    fn bind<'b>(&'b self, n: usize, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};
        match n {
            1 => out.push_bind_param::<Text, _>(&self.path_from),
            2 => out.push_bind_param::<Text, _>(&self.path_to),
            3 => out.push_bind_param::<Array<Text>, _>(&self.part_values),
            4 => out.push_bind_param::<BigInt, _>(&self.limit),
            _ => match n.checked_sub(5).and_then(|i| self.extra.get(i)) {
                Some(Some(Param::Text(value))) => out.push_bind_param::<Text, _>(value),
                Some(Some(Param::Time(value))) => out.push_bind_param::<Timestamptz, _>(value),
                Some(Some(Param::Uuid(value))) => out.push_bind_param::<SqlUuid, _>(value),
                Some(Some(Param::BigInt(value))) => out.push_bind_param::<BigInt, _>(value),
                _ => Err(diesel::result::Error::QueryBuilderError(
                    format!("a subtree page's ${n} has no value").into(),
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    //! Golden tests: the exact text of every form of every listing, at every level of the
    //! tree. The text does not depend on the level — whether the subtree is read by anchor or
    //! by union is decided inside the statement (`scope`), so one prepared plan serves every
    //! admin — only the values of `$1` and `$2` do.

    use zhijian_domain::ids::UnionId;

    use super::*;

    fn path(ids: &[i64]) -> UnionPath {
        UnionPath::from_ids(ids.iter().copied().map(UnionId::new).collect()).unwrap()
    }

    /// A province (an anchor), a county (an anchor), a township and a leaf union below it,
    /// with the range of paths each subtree is.
    fn levels() -> Vec<(&'static str, UnionPath, &'static str, &'static str)> {
        vec![
            ("province", path(&[1, 2]), "/1/2/", "/1/20"),
            ("county", path(&[1, 2, 3, 4]), "/1/2/3/4/", "/1/2/3/40"),
            (
                "township",
                path(&[1, 2, 3, 4, 5]),
                "/1/2/3/4/5/",
                "/1/2/3/4/50",
            ),
            (
                "leaf",
                path(&[1, 2, 3, 4, 5, 6]),
                "/1/2/3/4/5/6/",
                "/1/2/3/4/5/60",
            ),
        ]
    }

    /// Each form as the store writes its conditions, and the text it must produce.
    fn forms() -> Vec<(Listing, &'static str, &'static str)> {
        vec![
            (QUEUE, " AND a.due_at IS NOT NULL", QUEUE_BARE),
            (
                QUEUE,
                " AND a.due_at IS NOT NULL AND a.occupation = $5",
                QUEUE_OCCUPATION,
            ),
            (
                QUEUE,
                " AND a.due_at IS NOT NULL AND a.due_at < $6",
                QUEUE_OVERDUE,
            ),
            (
                QUEUE,
                " AND a.due_at IS NOT NULL AND a.due_at >= $6",
                QUEUE_NOT_OVERDUE,
            ),
            (
                QUEUE,
                " AND a.due_at IS NOT NULL AND (a.due_at, a.id) > ($7, $8)",
                QUEUE_CURSOR,
            ),
            (
                QUEUE,
                " AND a.due_at IS NOT NULL AND a.occupation = $5 AND a.due_at < $6 \
                 AND (a.due_at, a.id) > ($7, $8)",
                QUEUE_ALL,
            ),
            (MEMBERS, "", MEMBERS_BARE),
            (MEMBERS, " AND a.id > $5", MEMBERS_CURSOR),
            (AUDIT_REACH, "", AUDIT_BARE),
            (AUDIT_REACH, " AND a.audit_id < $5", AUDIT_CURSOR),
        ]
    }

    #[test]
    fn every_form_at_every_level_is_the_written_statement() {
        for (level, scope, from, to) in levels() {
            for (listing, conditions, expected) in forms() {
                let mut page = listing.page(&scope, conditions.to_owned());
                page.part_values = vec!["pending_review"];
                page.limit = 20;
                let statement = page.statement("");
                assert_eq!(
                    statement.sql, expected,
                    "{level}: {} with{conditions:?}",
                    listing.table
                );
                assert_eq!(
                    (statement.path_from.as_str(), statement.path_to.as_str()),
                    (from, to),
                    "{level}"
                );
                assert_eq!(statement.part_values, ["pending_review"]);
                assert_eq!(statement.limit, 20);
            }
        }
    }

    #[test]
    fn explain_runs_the_same_statement() {
        let scope = path(&[1, 2, 3, 4]);
        let statement = QUEUE
            .page(&scope, " AND a.due_at IS NOT NULL".to_owned())
            .statement("EXPLAIN (ANALYZE, BUFFERS) ");
        assert_eq!(
            statement.sql,
            format!("EXPLAIN (ANALYZE, BUFFERS) {QUEUE_BARE}")
        );
    }

    #[test]
    fn the_registry_holds_every_form_with_its_parameter_types() {
        let registered = statements();
        assert_eq!(
            registered.len(),
            12 + 2 + 2,
            "queue 2×3×2, members 2, audit 2"
        );
        for (name, expected, parameters) in [
            ("subtree page: applications", QUEUE_BARE, 8),
            (
                "subtree page: applications with occupation, overdue#1, cursor",
                QUEUE_ALL,
                8,
            ),
            (
                "subtree page: applications with overdue#2",
                QUEUE_NOT_OVERDUE,
                8,
            ),
            ("subtree page: members with cursor", MEMBERS_CURSOR, 5),
            ("subtree page: audit_reach", AUDIT_BARE, 5),
        ] {
            let found = registered
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("{name} is not registered"));
            assert_eq!(found.sql, expected, "{name}");
            assert_eq!(found.parameters.as_ref().map(Vec::len), Some(parameters));
        }
        let queue = registered
            .iter()
            .find(|s| s.name == "subtree page: applications")
            .unwrap();
        assert_eq!(
            queue.parameters.as_deref(),
            Some(
                &[
                    "text",
                    "text",
                    "text[]",
                    "bigint",
                    "text",
                    "timestamptz",
                    "timestamptz",
                    "uuid"
                ][..]
            )
        );
    }

    #[test]
    fn a_parameter_without_a_value_is_an_error_not_a_null() {
        let scope = path(&[1]);
        let mut page = MEMBERS.page(&scope, " AND a.id > $5".to_owned());
        page.extra = vec![None];
        let statement = page.statement("");
        let mut builder = diesel::pg::PgQueryBuilder::default();
        let rendered = diesel::query_builder::QueryFragment::<Pg>::to_sql(
            &Numbered(statement),
            &mut builder,
            &Pg,
        );
        assert!(
            rendered.is_err(),
            "a condition whose parameter has no value must not run"
        );
    }

    /// `subtree page: applications`
    const QUEUE_BARE: &str = "\
        WITH scope AS MATERIALIZED ( SELECT anchor_id = id AS anchored FROM unions WHERE \
        path = $1), parts AS MATERIALIZED (SELECT u.id AS part, true AS anchored, s.value \
        FROM unions u CROSS JOIN unnest($3::text[]) s (value) WHERE (SELECT anchored FROM \
        scope) AND u.anchor_id = u.id AND u.path ~>=~ $1 AND u.path ~<~ $2 UNION ALL SELECT \
        u.id AS part, false AS anchored, s.value FROM unions u CROSS JOIN unnest($3::text[]) \
        s (value) WHERE NOT (SELECT anchored FROM scope) AND u.path ~>=~ $1 AND u.path ~<~ \
        $2), firsts AS MATERIALIZED ( SELECT p.part, p.anchored, p.value, f.due_at, f.id \
        FROM parts p CROSS JOIN LATERAL ((SELECT a.due_at, a.id FROM applications a WHERE \
        p.anchored AND a.anchor_id = p.part AND a.status = p.value AND a.due_at IS NOT NULL \
        ORDER BY a.due_at, a.id LIMIT 1) UNION ALL (SELECT a.due_at, a.id FROM applications \
        a WHERE NOT p.anchored AND a.union_id = p.part AND a.status = p.value AND a.due_at \
        IS NOT NULL ORDER BY a.due_at, a.id LIMIT 1)) f), bound AS ( SELECT due_at, id FROM \
        ( (SELECT due_at, id FROM firsts ORDER BY due_at, id OFFSET $4 - 1 LIMIT 1) UNION \
        ALL SELECT 'infinity'::timestamptz, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid ) b \
        ORDER BY due_at, id LIMIT 1) SELECT q.due_at, q.id AS id FROM firsts f CROSS JOIN \
        LATERAL ((SELECT a.due_at, a.id FROM applications a WHERE f.anchored AND a.anchor_id \
        = f.part AND a.status = f.value AND a.due_at <= (SELECT due_at FROM bound) AND \
        a.due_at IS NOT NULL ORDER BY a.due_at, a.id LIMIT $4) UNION ALL (SELECT a.due_at, \
        a.id FROM applications a WHERE NOT f.anchored AND a.union_id = f.part AND a.status = \
        f.value AND a.due_at <= (SELECT due_at FROM bound) AND a.due_at IS NOT NULL ORDER BY \
        a.due_at, a.id LIMIT $4)) q WHERE (f.due_at, f.id) <= (SELECT due_at, id FROM bound) \
        ORDER BY q.due_at, q.id LIMIT $4";

    /// `subtree page: applications with occupation`
    const QUEUE_OCCUPATION: &str = "\
        WITH scope AS MATERIALIZED ( SELECT anchor_id = id AS anchored FROM unions WHERE \
        path = $1), parts AS MATERIALIZED (SELECT u.id AS part, true AS anchored, s.value \
        FROM unions u CROSS JOIN unnest($3::text[]) s (value) WHERE (SELECT anchored FROM \
        scope) AND u.anchor_id = u.id AND u.path ~>=~ $1 AND u.path ~<~ $2 UNION ALL SELECT \
        u.id AS part, false AS anchored, s.value FROM unions u CROSS JOIN unnest($3::text[]) \
        s (value) WHERE NOT (SELECT anchored FROM scope) AND u.path ~>=~ $1 AND u.path ~<~ \
        $2), firsts AS MATERIALIZED ( SELECT p.part, p.anchored, p.value, f.due_at, f.id \
        FROM parts p CROSS JOIN LATERAL ((SELECT a.due_at, a.id FROM applications a WHERE \
        p.anchored AND a.anchor_id = p.part AND a.status = p.value AND a.due_at IS NOT NULL \
        AND a.occupation = $5 ORDER BY a.due_at, a.id LIMIT 1) UNION ALL (SELECT a.due_at, \
        a.id FROM applications a WHERE NOT p.anchored AND a.union_id = p.part AND a.status = \
        p.value AND a.due_at IS NOT NULL AND a.occupation = $5 ORDER BY a.due_at, a.id LIMIT \
        1)) f), bound AS ( SELECT due_at, id FROM ( (SELECT due_at, id FROM firsts ORDER BY \
        due_at, id OFFSET $4 - 1 LIMIT 1) UNION ALL SELECT 'infinity'::timestamptz, \
        'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid ) b ORDER BY due_at, id LIMIT 1) SELECT \
        q.due_at, q.id AS id FROM firsts f CROSS JOIN LATERAL ((SELECT a.due_at, a.id FROM \
        applications a WHERE f.anchored AND a.anchor_id = f.part AND a.status = f.value AND \
        a.due_at <= (SELECT due_at FROM bound) AND a.due_at IS NOT NULL AND a.occupation = \
        $5 ORDER BY a.due_at, a.id LIMIT $4) UNION ALL (SELECT a.due_at, a.id FROM \
        applications a WHERE NOT f.anchored AND a.union_id = f.part AND a.status = f.value \
        AND a.due_at <= (SELECT due_at FROM bound) AND a.due_at IS NOT NULL AND a.occupation \
        = $5 ORDER BY a.due_at, a.id LIMIT $4)) q WHERE (f.due_at, f.id) <= (SELECT due_at, \
        id FROM bound) ORDER BY q.due_at, q.id LIMIT $4";

    /// `subtree page: applications with overdue#1`
    const QUEUE_OVERDUE: &str = "\
        WITH scope AS MATERIALIZED ( SELECT anchor_id = id AS anchored FROM unions WHERE \
        path = $1), parts AS MATERIALIZED (SELECT u.id AS part, true AS anchored, s.value \
        FROM unions u CROSS JOIN unnest($3::text[]) s (value) WHERE (SELECT anchored FROM \
        scope) AND u.anchor_id = u.id AND u.path ~>=~ $1 AND u.path ~<~ $2 UNION ALL SELECT \
        u.id AS part, false AS anchored, s.value FROM unions u CROSS JOIN unnest($3::text[]) \
        s (value) WHERE NOT (SELECT anchored FROM scope) AND u.path ~>=~ $1 AND u.path ~<~ \
        $2), firsts AS MATERIALIZED ( SELECT p.part, p.anchored, p.value, f.due_at, f.id \
        FROM parts p CROSS JOIN LATERAL ((SELECT a.due_at, a.id FROM applications a WHERE \
        p.anchored AND a.anchor_id = p.part AND a.status = p.value AND a.due_at IS NOT NULL \
        AND a.due_at < $6 ORDER BY a.due_at, a.id LIMIT 1) UNION ALL (SELECT a.due_at, a.id \
        FROM applications a WHERE NOT p.anchored AND a.union_id = p.part AND a.status = \
        p.value AND a.due_at IS NOT NULL AND a.due_at < $6 ORDER BY a.due_at, a.id LIMIT 1)) \
        f), bound AS ( SELECT due_at, id FROM ( (SELECT due_at, id FROM firsts ORDER BY \
        due_at, id OFFSET $4 - 1 LIMIT 1) UNION ALL SELECT 'infinity'::timestamptz, \
        'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid ) b ORDER BY due_at, id LIMIT 1) SELECT \
        q.due_at, q.id AS id FROM firsts f CROSS JOIN LATERAL ((SELECT a.due_at, a.id FROM \
        applications a WHERE f.anchored AND a.anchor_id = f.part AND a.status = f.value AND \
        a.due_at <= (SELECT due_at FROM bound) AND a.due_at IS NOT NULL AND a.due_at < $6 \
        ORDER BY a.due_at, a.id LIMIT $4) UNION ALL (SELECT a.due_at, a.id FROM applications \
        a WHERE NOT f.anchored AND a.union_id = f.part AND a.status = f.value AND a.due_at \
        <= (SELECT due_at FROM bound) AND a.due_at IS NOT NULL AND a.due_at < $6 ORDER BY \
        a.due_at, a.id LIMIT $4)) q WHERE (f.due_at, f.id) <= (SELECT due_at, id FROM bound) \
        ORDER BY q.due_at, q.id LIMIT $4";

    /// `subtree page: applications with overdue#2`
    const QUEUE_NOT_OVERDUE: &str = "\
        WITH scope AS MATERIALIZED ( SELECT anchor_id = id AS anchored FROM unions WHERE \
        path = $1), parts AS MATERIALIZED (SELECT u.id AS part, true AS anchored, s.value \
        FROM unions u CROSS JOIN unnest($3::text[]) s (value) WHERE (SELECT anchored FROM \
        scope) AND u.anchor_id = u.id AND u.path ~>=~ $1 AND u.path ~<~ $2 UNION ALL SELECT \
        u.id AS part, false AS anchored, s.value FROM unions u CROSS JOIN unnest($3::text[]) \
        s (value) WHERE NOT (SELECT anchored FROM scope) AND u.path ~>=~ $1 AND u.path ~<~ \
        $2), firsts AS MATERIALIZED ( SELECT p.part, p.anchored, p.value, f.due_at, f.id \
        FROM parts p CROSS JOIN LATERAL ((SELECT a.due_at, a.id FROM applications a WHERE \
        p.anchored AND a.anchor_id = p.part AND a.status = p.value AND a.due_at IS NOT NULL \
        AND a.due_at >= $6 ORDER BY a.due_at, a.id LIMIT 1) UNION ALL (SELECT a.due_at, a.id \
        FROM applications a WHERE NOT p.anchored AND a.union_id = p.part AND a.status = \
        p.value AND a.due_at IS NOT NULL AND a.due_at >= $6 ORDER BY a.due_at, a.id LIMIT \
        1)) f), bound AS ( SELECT due_at, id FROM ( (SELECT due_at, id FROM firsts ORDER BY \
        due_at, id OFFSET $4 - 1 LIMIT 1) UNION ALL SELECT 'infinity'::timestamptz, \
        'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid ) b ORDER BY due_at, id LIMIT 1) SELECT \
        q.due_at, q.id AS id FROM firsts f CROSS JOIN LATERAL ((SELECT a.due_at, a.id FROM \
        applications a WHERE f.anchored AND a.anchor_id = f.part AND a.status = f.value AND \
        a.due_at <= (SELECT due_at FROM bound) AND a.due_at IS NOT NULL AND a.due_at >= $6 \
        ORDER BY a.due_at, a.id LIMIT $4) UNION ALL (SELECT a.due_at, a.id FROM applications \
        a WHERE NOT f.anchored AND a.union_id = f.part AND a.status = f.value AND a.due_at \
        <= (SELECT due_at FROM bound) AND a.due_at IS NOT NULL AND a.due_at >= $6 ORDER BY \
        a.due_at, a.id LIMIT $4)) q WHERE (f.due_at, f.id) <= (SELECT due_at, id FROM bound) \
        ORDER BY q.due_at, q.id LIMIT $4";

    /// `subtree page: applications with cursor`
    const QUEUE_CURSOR: &str = "\
        WITH scope AS MATERIALIZED ( SELECT anchor_id = id AS anchored FROM unions WHERE \
        path = $1), parts AS MATERIALIZED (SELECT u.id AS part, true AS anchored, s.value \
        FROM unions u CROSS JOIN unnest($3::text[]) s (value) WHERE (SELECT anchored FROM \
        scope) AND u.anchor_id = u.id AND u.path ~>=~ $1 AND u.path ~<~ $2 UNION ALL SELECT \
        u.id AS part, false AS anchored, s.value FROM unions u CROSS JOIN unnest($3::text[]) \
        s (value) WHERE NOT (SELECT anchored FROM scope) AND u.path ~>=~ $1 AND u.path ~<~ \
        $2), firsts AS MATERIALIZED ( SELECT p.part, p.anchored, p.value, f.due_at, f.id \
        FROM parts p CROSS JOIN LATERAL ((SELECT a.due_at, a.id FROM applications a WHERE \
        p.anchored AND a.anchor_id = p.part AND a.status = p.value AND a.due_at IS NOT NULL \
        AND (a.due_at, a.id) > ($7, $8) ORDER BY a.due_at, a.id LIMIT 1) UNION ALL (SELECT \
        a.due_at, a.id FROM applications a WHERE NOT p.anchored AND a.union_id = p.part AND \
        a.status = p.value AND a.due_at IS NOT NULL AND (a.due_at, a.id) > ($7, $8) ORDER BY \
        a.due_at, a.id LIMIT 1)) f), bound AS ( SELECT due_at, id FROM ( (SELECT due_at, id \
        FROM firsts ORDER BY due_at, id OFFSET $4 - 1 LIMIT 1) UNION ALL SELECT \
        'infinity'::timestamptz, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid ) b ORDER BY \
        due_at, id LIMIT 1) SELECT q.due_at, q.id AS id FROM firsts f CROSS JOIN LATERAL \
        ((SELECT a.due_at, a.id FROM applications a WHERE f.anchored AND a.anchor_id = \
        f.part AND a.status = f.value AND a.due_at <= (SELECT due_at FROM bound) AND \
        a.due_at IS NOT NULL AND (a.due_at, a.id) > ($7, $8) ORDER BY a.due_at, a.id LIMIT \
        $4) UNION ALL (SELECT a.due_at, a.id FROM applications a WHERE NOT f.anchored AND \
        a.union_id = f.part AND a.status = f.value AND a.due_at <= (SELECT due_at FROM \
        bound) AND a.due_at IS NOT NULL AND (a.due_at, a.id) > ($7, $8) ORDER BY a.due_at, \
        a.id LIMIT $4)) q WHERE (f.due_at, f.id) <= (SELECT due_at, id FROM bound) ORDER BY \
        q.due_at, q.id LIMIT $4";

    /// `subtree page: applications with occupation, overdue#1, cursor`
    const QUEUE_ALL: &str = "\
        WITH scope AS MATERIALIZED ( SELECT anchor_id = id AS anchored FROM unions WHERE \
        path = $1), parts AS MATERIALIZED (SELECT u.id AS part, true AS anchored, s.value \
        FROM unions u CROSS JOIN unnest($3::text[]) s (value) WHERE (SELECT anchored FROM \
        scope) AND u.anchor_id = u.id AND u.path ~>=~ $1 AND u.path ~<~ $2 UNION ALL SELECT \
        u.id AS part, false AS anchored, s.value FROM unions u CROSS JOIN unnest($3::text[]) \
        s (value) WHERE NOT (SELECT anchored FROM scope) AND u.path ~>=~ $1 AND u.path ~<~ \
        $2), firsts AS MATERIALIZED ( SELECT p.part, p.anchored, p.value, f.due_at, f.id \
        FROM parts p CROSS JOIN LATERAL ((SELECT a.due_at, a.id FROM applications a WHERE \
        p.anchored AND a.anchor_id = p.part AND a.status = p.value AND a.due_at IS NOT NULL \
        AND a.occupation = $5 AND a.due_at < $6 AND (a.due_at, a.id) > ($7, $8) ORDER BY \
        a.due_at, a.id LIMIT 1) UNION ALL (SELECT a.due_at, a.id FROM applications a WHERE \
        NOT p.anchored AND a.union_id = p.part AND a.status = p.value AND a.due_at IS NOT \
        NULL AND a.occupation = $5 AND a.due_at < $6 AND (a.due_at, a.id) > ($7, $8) ORDER \
        BY a.due_at, a.id LIMIT 1)) f), bound AS ( SELECT due_at, id FROM ( (SELECT due_at, \
        id FROM firsts ORDER BY due_at, id OFFSET $4 - 1 LIMIT 1) UNION ALL SELECT \
        'infinity'::timestamptz, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid ) b ORDER BY \
        due_at, id LIMIT 1) SELECT q.due_at, q.id AS id FROM firsts f CROSS JOIN LATERAL \
        ((SELECT a.due_at, a.id FROM applications a WHERE f.anchored AND a.anchor_id = \
        f.part AND a.status = f.value AND a.due_at <= (SELECT due_at FROM bound) AND \
        a.due_at IS NOT NULL AND a.occupation = $5 AND a.due_at < $6 AND (a.due_at, a.id) > \
        ($7, $8) ORDER BY a.due_at, a.id LIMIT $4) UNION ALL (SELECT a.due_at, a.id FROM \
        applications a WHERE NOT f.anchored AND a.union_id = f.part AND a.status = f.value \
        AND a.due_at <= (SELECT due_at FROM bound) AND a.due_at IS NOT NULL AND a.occupation \
        = $5 AND a.due_at < $6 AND (a.due_at, a.id) > ($7, $8) ORDER BY a.due_at, a.id LIMIT \
        $4)) q WHERE (f.due_at, f.id) <= (SELECT due_at, id FROM bound) ORDER BY q.due_at, \
        q.id LIMIT $4";

    /// `subtree page: members`
    const MEMBERS_BARE: &str = "\
        WITH scope AS MATERIALIZED ( SELECT anchor_id = id AS anchored FROM unions WHERE \
        path = $1), parts AS MATERIALIZED (SELECT u.id AS part, true AS anchored, s.value \
        FROM unions u CROSS JOIN unnest($3::text[]) s (value) WHERE (SELECT anchored FROM \
        scope) AND u.anchor_id = u.id AND u.path ~>=~ $1 AND u.path ~<~ $2 UNION ALL SELECT \
        u.id AS part, false AS anchored, s.value FROM unions u CROSS JOIN unnest($3::text[]) \
        s (value) WHERE NOT (SELECT anchored FROM scope) AND u.path ~>=~ $1 AND u.path ~<~ \
        $2), firsts AS MATERIALIZED ( SELECT p.part, p.anchored, p.value, f.id FROM parts p \
        CROSS JOIN LATERAL ((SELECT a.id FROM members a WHERE p.anchored AND a.anchor_id = \
        p.part AND a.status = p.value ORDER BY a.id LIMIT 1) UNION ALL (SELECT a.id FROM \
        members a WHERE NOT p.anchored AND a.union_id = p.part AND a.status = p.value ORDER \
        BY a.id LIMIT 1)) f), bound AS ( SELECT id FROM ( (SELECT id FROM firsts ORDER BY id \
        OFFSET $4 - 1 LIMIT 1) UNION ALL SELECT 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid \
        ) b ORDER BY id LIMIT 1) SELECT q.id AS id FROM firsts f CROSS JOIN LATERAL ((SELECT \
        a.id FROM members a WHERE f.anchored AND a.anchor_id = f.part AND a.status = f.value \
        AND a.id <= (SELECT id FROM bound) ORDER BY a.id LIMIT $4) UNION ALL (SELECT a.id \
        FROM members a WHERE NOT f.anchored AND a.union_id = f.part AND a.status = f.value \
        AND a.id <= (SELECT id FROM bound) ORDER BY a.id LIMIT $4)) q WHERE (f.id) <= \
        (SELECT id FROM bound) ORDER BY q.id LIMIT $4";

    /// `subtree page: members with cursor`
    const MEMBERS_CURSOR: &str = "\
        WITH scope AS MATERIALIZED ( SELECT anchor_id = id AS anchored FROM unions WHERE \
        path = $1), parts AS MATERIALIZED (SELECT u.id AS part, true AS anchored, s.value \
        FROM unions u CROSS JOIN unnest($3::text[]) s (value) WHERE (SELECT anchored FROM \
        scope) AND u.anchor_id = u.id AND u.path ~>=~ $1 AND u.path ~<~ $2 UNION ALL SELECT \
        u.id AS part, false AS anchored, s.value FROM unions u CROSS JOIN unnest($3::text[]) \
        s (value) WHERE NOT (SELECT anchored FROM scope) AND u.path ~>=~ $1 AND u.path ~<~ \
        $2), firsts AS MATERIALIZED ( SELECT p.part, p.anchored, p.value, f.id FROM parts p \
        CROSS JOIN LATERAL ((SELECT a.id FROM members a WHERE p.anchored AND a.anchor_id = \
        p.part AND a.status = p.value AND a.id > $5 ORDER BY a.id LIMIT 1) UNION ALL (SELECT \
        a.id FROM members a WHERE NOT p.anchored AND a.union_id = p.part AND a.status = \
        p.value AND a.id > $5 ORDER BY a.id LIMIT 1)) f), bound AS ( SELECT id FROM ( \
        (SELECT id FROM firsts ORDER BY id OFFSET $4 - 1 LIMIT 1) UNION ALL SELECT \
        'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid ) b ORDER BY id LIMIT 1) SELECT q.id AS \
        id FROM firsts f CROSS JOIN LATERAL ((SELECT a.id FROM members a WHERE f.anchored \
        AND a.anchor_id = f.part AND a.status = f.value AND a.id <= (SELECT id FROM bound) \
        AND a.id > $5 ORDER BY a.id LIMIT $4) UNION ALL (SELECT a.id FROM members a WHERE \
        NOT f.anchored AND a.union_id = f.part AND a.status = f.value AND a.id <= (SELECT id \
        FROM bound) AND a.id > $5 ORDER BY a.id LIMIT $4)) q WHERE (f.id) <= (SELECT id FROM \
        bound) ORDER BY q.id LIMIT $4";

    /// `subtree page: audit_reach`
    const AUDIT_BARE: &str = "\
        WITH scope AS MATERIALIZED ( SELECT anchor_id = id AS anchored FROM unions WHERE \
        path = $1), parts AS MATERIALIZED (SELECT u.id AS part, true AS anchored, s.value \
        FROM unions u CROSS JOIN unnest($3::text[]) s (value) WHERE (SELECT anchored FROM \
        scope) AND u.anchor_id = u.id AND u.path ~>=~ $1 AND u.path ~<~ $2 UNION ALL SELECT \
        u.id AS part, false AS anchored, s.value FROM unions u CROSS JOIN unnest($3::text[]) \
        s (value) WHERE NOT (SELECT anchored FROM scope) AND u.path ~>=~ $1 AND u.path ~<~ \
        $2), firsts AS MATERIALIZED ( SELECT p.part, p.anchored, p.value, f.audit_id FROM \
        parts p CROSS JOIN LATERAL ((SELECT DISTINCT a.audit_id FROM audit_reach a WHERE \
        p.anchored AND a.anchor_id = p.part AND a.object_kind = p.value ORDER BY a.audit_id \
        DESC LIMIT 1) UNION ALL (SELECT DISTINCT a.audit_id FROM audit_reach a WHERE NOT \
        p.anchored AND a.union_id = p.part AND a.object_kind = p.value ORDER BY a.audit_id \
        DESC LIMIT 1)) f), bound AS ( SELECT audit_id FROM ( (SELECT DISTINCT audit_id FROM \
        firsts ORDER BY audit_id DESC OFFSET $4 - 1 LIMIT 1) UNION ALL SELECT 0 ) b ORDER BY \
        audit_id DESC LIMIT 1) SELECT DISTINCT q.audit_id AS id FROM firsts f CROSS JOIN \
        LATERAL ((SELECT DISTINCT a.audit_id FROM audit_reach a WHERE f.anchored AND \
        a.anchor_id = f.part AND a.object_kind = f.value AND a.audit_id >= (SELECT audit_id \
        FROM bound) ORDER BY a.audit_id DESC LIMIT $4) UNION ALL (SELECT DISTINCT a.audit_id \
        FROM audit_reach a WHERE NOT f.anchored AND a.union_id = f.part AND a.object_kind = \
        f.value AND a.audit_id >= (SELECT audit_id FROM bound) ORDER BY a.audit_id DESC \
        LIMIT $4)) q WHERE (f.audit_id) >= (SELECT audit_id FROM bound) ORDER BY q.audit_id \
        DESC LIMIT $4";

    /// `subtree page: audit_reach with cursor`
    const AUDIT_CURSOR: &str = "\
        WITH scope AS MATERIALIZED ( SELECT anchor_id = id AS anchored FROM unions WHERE \
        path = $1), parts AS MATERIALIZED (SELECT u.id AS part, true AS anchored, s.value \
        FROM unions u CROSS JOIN unnest($3::text[]) s (value) WHERE (SELECT anchored FROM \
        scope) AND u.anchor_id = u.id AND u.path ~>=~ $1 AND u.path ~<~ $2 UNION ALL SELECT \
        u.id AS part, false AS anchored, s.value FROM unions u CROSS JOIN unnest($3::text[]) \
        s (value) WHERE NOT (SELECT anchored FROM scope) AND u.path ~>=~ $1 AND u.path ~<~ \
        $2), firsts AS MATERIALIZED ( SELECT p.part, p.anchored, p.value, f.audit_id FROM \
        parts p CROSS JOIN LATERAL ((SELECT DISTINCT a.audit_id FROM audit_reach a WHERE \
        p.anchored AND a.anchor_id = p.part AND a.object_kind = p.value AND a.audit_id < $5 \
        ORDER BY a.audit_id DESC LIMIT 1) UNION ALL (SELECT DISTINCT a.audit_id FROM \
        audit_reach a WHERE NOT p.anchored AND a.union_id = p.part AND a.object_kind = \
        p.value AND a.audit_id < $5 ORDER BY a.audit_id DESC LIMIT 1)) f), bound AS ( SELECT \
        audit_id FROM ( (SELECT DISTINCT audit_id FROM firsts ORDER BY audit_id DESC OFFSET \
        $4 - 1 LIMIT 1) UNION ALL SELECT 0 ) b ORDER BY audit_id DESC LIMIT 1) SELECT \
        DISTINCT q.audit_id AS id FROM firsts f CROSS JOIN LATERAL ((SELECT DISTINCT \
        a.audit_id FROM audit_reach a WHERE f.anchored AND a.anchor_id = f.part AND \
        a.object_kind = f.value AND a.audit_id >= (SELECT audit_id FROM bound) AND \
        a.audit_id < $5 ORDER BY a.audit_id DESC LIMIT $4) UNION ALL (SELECT DISTINCT \
        a.audit_id FROM audit_reach a WHERE NOT f.anchored AND a.union_id = f.part AND \
        a.object_kind = f.value AND a.audit_id >= (SELECT audit_id FROM bound) AND \
        a.audit_id < $5 ORDER BY a.audit_id DESC LIMIT $4)) q WHERE (f.audit_id) >= (SELECT \
        audit_id FROM bound) ORDER BY q.audit_id DESC LIMIT $4";
}
