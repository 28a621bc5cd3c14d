//! Reading the audit trail, newest first, within an admin's reach.
//!
//! A row is within the reach of the admin of union X when the union the actor acted for lies
//! in X's subtree, or when the row is about an object that lies in X's subtree now: an
//! application or a member (by its current union), an admin (by the union their role is bound
//! to), a transfer (by its source or its target union). An applicant's own actions carry no
//! union; the application they are about does. Rows are append-only (a trigger refuses UPDATE, DELETE and TRUNCATE), so a keyset on
//! `id` pages them stably.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
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

/// Rows within the reach of the admin of `scope`, newest first.
pub fn list(
    conn: &mut PgConnection,
    scope: &UnionPath,
    filter: &AuditFilter,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT l.id, l.at, l.actor_kind, l.actor_id, l.role, l.union_id, u.name AS union_name, \
                l.object_kind, l.object_id, l.action, l.reason, l.request_id \
         FROM audit_log l \
         LEFT JOIN unions u ON u.id = l.union_id \
         CROSS JOIN LATERAL (SELECT CASE \
             WHEN l.object_id ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' \
             THEN l.object_id::uuid END AS id) o \
         WHERE ($2::text IS NULL OR l.object_kind = $2) \
           AND ($3::text IS NULL OR l.object_id = $3) \
           AND ($4::bigint IS NULL OR l.id < $4) \
           AND (u.path LIKE $1 \
                OR (l.object_kind = 'application' AND EXISTS ( \
                    SELECT 1 FROM applications a JOIN unions x ON x.id = a.union_id \
                    WHERE a.id = o.id AND x.path LIKE $1)) \
                OR (l.object_kind = 'member' AND EXISTS ( \
                    SELECT 1 FROM members m JOIN unions x ON x.id = m.union_id \
                    WHERE m.id = o.id AND x.path LIKE $1)) \
                OR (l.object_kind = 'admin' AND EXISTS ( \
                    SELECT 1 FROM admins d JOIN unions x ON x.id = d.union_id \
                    WHERE d.id = o.id AND x.path LIKE $1)) \
                OR (l.object_kind = 'transfer' AND EXISTS ( \
                    SELECT 1 FROM transfers t JOIN unions x ON x.id IN (t.from_union_id, t.to_union_id) \
                    WHERE t.id = o.id AND x.path LIKE $1))) \
         ORDER BY l.id DESC \
         LIMIT $5",
    )
    .bind::<Text, _>(format!("{scope}%"))
    .bind::<Nullable<Text>, _>(filter.object_kind.as_deref())
    .bind::<Nullable<Text>, _>(filter.object_id.as_deref())
    .bind::<Nullable<BigInt>, _>(filter.before)
    .bind::<BigInt, _>(filter.limit)
    .load(conn)?)
}
