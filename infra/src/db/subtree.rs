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
    /// The table, read as `a`: it has `union_id`, `anchor_id` (kept by trigger) and the part
    /// column.
    pub table: &'static str,
    /// The column whose values are parts (`status`, `object_kind`).
    pub part_column: &'static str,
    /// The key columns, in order; the last one identifies the row the page lists (returned as
    /// `id`).
    pub keys: &'static [&'static str],
    /// Newest first: the keys in descending order.
    pub descending: bool,
    /// A value past every key in the page's order, column by column
    /// (`'infinity'::timestamptz`, …; `0` for positive ids read descending).
    pub past_all: &'static [&'static str],
    /// Whether one row may be held twice (in one part or two): each step then counts distinct
    /// keys.
    pub distinct: bool,
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
        let SubtreePage {
            table,
            part_column,
            keys,
            descending,
            past_all,
            distinct,
            conditions,
            ..
        } = self;
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
