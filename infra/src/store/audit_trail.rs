//! Reading the audit trail, newest first, within an admin's reach.
//!
//! A row is within the reach of the admin of union X when the union the actor acted for lies
//! in X's subtree, or when the row is about an object that lies in X's subtree now: an
//! application or a member (by its current union), an admin (by the union their role is bound
//! to), a transfer (by its source or its target union). An applicant's own actions carry no
//! union; the application they are about does. Those unions are kept per row in `audit_reach`
//! by triggers (migration `audit_reach`). Rows are append-only (a trigger refuses UPDATE,
//! DELETE and TRUNCATE), so a keyset on `id` pages them stably.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use zhijian_domain::admin::UnionPath;

use crate::db::StoreError;

/// Which rows to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only rows about this kind of object (`application`, `member`, `admin` …).
    pub object_kind: Option<String>,
    /// Only rows about this object.
    pub object_id: Option<String>,
    /// Only rows older than this id (the keyset of the previous page).
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// One audit row, with the name of the union the actor acted for.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct AuditRow {
    /// Position in the trail.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// When.
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    /// `applicant`, `member`, `admin`, `system` or `partner`.
    #[diesel(sql_type = Text)]
    pub actor_kind: String,
    /// Account, admin or client id.
    #[diesel(sql_type = Nullable<Text>)]
    pub actor_id: Option<String>,
    /// The admin's role.
    #[diesel(sql_type = Nullable<Text>)]
    pub role: Option<String>,
    /// The union the actor acted for.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub union_id: Option<i64>,
    /// Its name.
    #[diesel(sql_type = Nullable<Text>)]
    pub union_name: Option<String>,
    /// What kind of object.
    #[diesel(sql_type = Text)]
    pub object_kind: String,
    /// Which object.
    #[diesel(sql_type = Text)]
    pub object_id: String,
    /// What was done.
    #[diesel(sql_type = Text)]
    pub action: String,
    /// Why.
    #[diesel(sql_type = Nullable<Text>)]
    pub reason: Option<String>,
    /// The request it happened in.
    #[diesel(sql_type = Nullable<Text>)]
    pub request_id: Option<String>,
}

/// The kinds of object the trail records — the `audit_log_object_kind` constraint names the
/// same. The listing reads one range per kind.
pub const OBJECT_KINDS: [&str; 11] = [
    "application",
    "member",
    "admin",
    "transfer",
    "union",
    "calendar",
    "station",
    "benefit",
    // A worker's own account (my data, cancellation): reached by no union.
    "account",
    // Partner clients and workers' consents to them: reached by no union.
    "partner_client",
    "partner_consent",
];

/// Rows within the reach of the admin of `scope`, newest first.
///
/// Without an object, the ids come from [`crate::db::sql::subtree::SubtreePage`] over `audit_reach` (per
/// anchor of the subtree on `audit_reach_anchor_idx (anchor_id, object_kind, audit_id)`, or per
/// union below a county on `audit_reach_union_idx`), one range per kind: the cost follows the
/// subtree's anchors or unions, not the length of the trail. (It was a walk of `audit_log`
/// newest first, testing each row's actor and object against the subtree: the whole trail for a
/// union with few rows.) For one object, its rows (a handful, on `audit_log_object_idx`) are
/// tested against the subtree instead.
pub fn list(
    conn: &mut PgConnection,
    scope: &UnionPath,
    filter: &AuditFilter,
) -> Result<Vec<AuditRow>, StoreError> {
    let kinds: Vec<&'static str> = match &filter.object_kind {
        None => OBJECT_KINDS.to_vec(),
        Some(kind) => OBJECT_KINDS
            .into_iter()
            .filter(|known| known == kind)
            .collect(),
    };
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = match &filter.object_id {
        Some(object_id) => ids_of_object(conn, scope, &kinds, object_id, filter)?,
        None => reach_page(scope, kinds, filter).load_ids(conn)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(diesel::sql_query(
        "SELECT l.id, l.at, l.actor_kind, l.actor_id, l.role, l.union_id, u.name AS union_name, \
                l.object_kind, l.object_id, l.action, l.reason, l.request_id \
         FROM audit_log l \
         LEFT JOIN unions u ON u.id = l.union_id \
         WHERE l.id = ANY($1) \
         ORDER BY l.id DESC",
    )
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)?)
}

/// The page of audit ids of the subtree, of the given kinds, before the cursor.
fn reach_page<'a>(
    scope: &'a UnionPath,
    kinds: Vec<&'static str>,
    filter: &AuditFilter,
) -> crate::db::sql::subtree::SubtreePage<'a> {
    use crate::db::sql::subtree::{AUDIT_REACH, Param, SubtreePage};
    // A row reaches its actor's union and its object's, often both in the subtree: the listing
    // counts distinct ids.
    let conditions = AUDIT_REACH.conditions(&[filter.before.map(|_| 0)]);
    SubtreePage {
        part_values: kinds,
        limit: filter.limit,
        extra: vec![filter.before.map(Param::BigInt)],
        ..AUDIT_REACH.page(scope, conditions)
    }
}

/// The ids of one object's rows within the subtree, newest first, before the cursor.
fn ids_of_object(
    conn: &mut PgConnection,
    scope: &UnionPath,
    kinds: &[&'static str],
    object_id: &str,
    filter: &AuditFilter,
) -> Result<Vec<i64>, StoreError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    Ok(diesel::sql_query(
        "SELECT l.id FROM audit_log l \
         WHERE l.object_kind = ANY($1) AND l.object_id = $2 \
           AND ($3::bigint IS NULL OR l.id < $3) \
           AND EXISTS (SELECT 1 FROM audit_reach r JOIN unions u ON u.id = r.union_id \
                       WHERE r.audit_id = l.id AND u.path ~>=~ $4 AND u.path ~<~ $5) \
         ORDER BY l.id DESC \
         LIMIT $6",
    )
    .bind::<Array<Text>, _>(kinds)
    .bind::<Text, _>(object_id)
    .bind::<Nullable<BigInt>, _>(filter.before)
    .bind::<Text, _>(scope.to_string())
    .bind::<Text, _>(scope.subtree_end())
    .bind::<BigInt, _>(filter.limit)
    .load::<Id>(conn)?
    .into_iter()
    .map(|row| row.id)
    .collect())
}
