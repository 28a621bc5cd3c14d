//! The audit trail: who did what to which object, when, why, under which request. Written in
//! the same transaction as the change it records.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;

use crate::db::StoreError;
use crate::db::schema::audit_log;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `applicant`, `member`, `admin`, `system` or `partner`.
    pub kind: &'static str,
    /// Account, admin or client id.
    pub id: Option<String>,
    /// The admin's role, for admins.
    pub role: Option<&'static str>,
    /// The union the actor acted for.
    pub union_id: Option<i64>,
}

impl Actor {
    /// The system itself (scheduled jobs).
    pub fn system() -> Self {
        Self {
            kind: "system",
            id: None,
            role: None,
            union_id: None,
        }
    }
}

/// One audit row.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: &'a Actor,
    /// `application`, `member`, `transfer`, …
    pub object_kind: &'static str,
    /// The object's id.
    pub object_id: String,
    /// What was done (`approve`, `view_personal_data`, …).
    pub action: &'static str,
    /// Why, when a reason was given.
    pub reason: Option<String>,
}

/// Appends an audit row; the current request id is recorded with it.
pub fn record(conn: &mut PgConnection, entry: &AuditEntry<'_>) -> Result<(), StoreError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(entry.at),
            audit_log::actor_kind.eq(entry.actor.kind),
            audit_log::actor_id.eq(entry.actor.id.as_deref()),
            audit_log::role.eq(entry.actor.role),
            audit_log::union_id.eq(entry.actor.union_id),
            audit_log::object_kind.eq(entry.object_kind),
            audit_log::object_id.eq(&entry.object_id),
            audit_log::action.eq(entry.action),
            audit_log::reason.eq(entry.reason.as_deref()),
            audit_log::request_id.eq(crate::log_context::current().as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}
