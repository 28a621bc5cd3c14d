//! Unusual viewing (issue 18, item 6): an admin who sees personal data in clear more than
//! `privacy.reveals_per_hour` times in the last hour is slowed (the reading is refused until
//! the oldest reveal leaves the hour), and the managers of the union above theirs are told once
//! per hour through the outbox (`admin.reveals_exceeded`). The reveals are the audit trail's
//! `view_personal_data` entries, so the count is exact across servers.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use zhijian_domain::outbox_event::OutboxEvent;

use crate::db::StoreError;
use crate::db::schema::audit_log;
use crate::store::applications::AdminActor;
use crate::store::audit::{self, AuditEntry};
use crate::store::outbox;

/// `[privacy]` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PrivacyConfig {
    /// Reveals of personal data an admin may make in any 60 minutes (30).
    pub reveals_per_hour: u32,
    /// The version of the privacy notice workers consent to now; when it changes, a worker
    /// whose consent names an older one consents again before any write.
    pub notice_version: String,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            reveals_per_hour: 30,
            notice_version: "2026-01".to_owned(),
        }
    }
}

impl PrivacyConfig {
    /// Checks the values and says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100_000).contains(&self.reveals_per_hour) {
            return Err("privacy.reveals_per_hour must be between 1 and 100000".into());
        }
        let version = self.notice_version.trim();
        if version.is_empty() || version.len() > 32 {
            return Err("privacy.notice_version must be 1 to 32 characters (e.g. 2026-01)".into());
        }
        Ok(())
    }
}

/// Whether one more reveal is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealCheck {
    /// Under the cap.
    Allowed,
    /// Over it: retry after this many seconds.
    Slowed {
        /// Seconds until the oldest reveal of the hour leaves it.
        retry_after_secs: u64,
    },
}

const WINDOW: TimeDelta = TimeDelta::hours(1);

/// Checks (inside the reading's transaction, serialised per admin) whether `admin` may see one
/// more application's personal data at `now`; over the cap, tells the managers above once per
/// hour (an audit row `reveals_capped` and an outbox event, committed with the refusal).
pub fn check_reveal(
    conn: &mut PgConnection,
    admin: &AdminActor,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<RevealCheck, StoreError> {
    let admin_id = admin.admin_id.to_string();
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('reveals:' || $1))")
        .bind::<diesel::sql_types::Text, _>(&admin_id)
        .execute(conn)?;
    let since = now - WINDOW;
    let recent: Vec<DateTime<Utc>> = audit_log::table
        .filter(audit_log::actor_kind.eq("admin"))
        .filter(audit_log::actor_id.eq(&admin_id))
        .filter(audit_log::action.eq("view_personal_data"))
        .filter(audit_log::at.gt(since))
        .order(audit_log::at.desc())
        .select(audit_log::at)
        .limit(i64::from(limit))
        .load(conn)?;
    if recent.len() < usize::try_from(limit).unwrap_or(usize::MAX) {
        return Ok(RevealCheck::Allowed);
    }
    // The `limit`-th newest reveal: one more is allowed once it leaves the hour.
    let oldest = recent.last().copied().unwrap_or(now);
    let retry_after_secs = u64::try_from((oldest + WINDOW - now).num_seconds().max(1)).unwrap_or(1);
    let told: bool = diesel::select(diesel::dsl::exists(
        audit_log::table
            .filter(audit_log::actor_kind.eq("admin"))
            .filter(audit_log::actor_id.eq(&admin_id))
            .filter(audit_log::action.eq("reveals_capped"))
            .filter(audit_log::at.gt(since)),
    ))
    .get_result(conn)?;
    if !told {
        let own = admin.union_path.union().get();
        let above = admin.union_path.parent().map_or(own, |p| p.union().get());
        audit::record(
            conn,
            &AuditEntry {
                at: now,
                actor: &admin.audit_actor(),
                object_kind: "admin",
                object_id: admin_id.clone(),
                action: "reveals_capped",
                reason: Some(format!("一小时内查看个人信息超过{limit}次，已限速")),
            },
        )?;
        outbox::enqueue(
            conn,
            OutboxEvent::AdminRevealsExceeded,
            &admin_id,
            &json!({
                "admin_id": admin_id,
                "admin_union_id": own,
                "union_id": above,
                "limit": limit,
            }),
            now,
        )?;
        log::warn!(
            "admin {admin_id} slowed: more than {limit} reveals of personal data in an hour"
        );
    }
    Ok(RevealCheck::Slowed { retry_after_secs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usecases::retention::RetentionConfig;

    #[test]
    fn the_caps_and_periods_must_be_positive() {
        assert!(PrivacyConfig::default().validate().is_ok());
        assert_eq!(PrivacyConfig::default().reveals_per_hour, 30);
        let none = PrivacyConfig {
            reveals_per_hour: 0,
            ..PrivacyConfig::default()
        };
        assert!(none.validate().unwrap_err().contains("reveals_per_hour"));
        let blank = PrivacyConfig {
            notice_version: " ".into(),
            ..PrivacyConfig::default()
        };
        assert!(blank.validate().unwrap_err().contains("notice_version"));
        let retention = RetentionConfig::default();
        assert_eq!(retention.closed_application_days, 180);
        let never = RetentionConfig {
            closed_application_days: 0,
            ..retention
        };
        assert!(
            never
                .validate()
                .unwrap_err()
                .contains("closed_application_days")
        );
    }
}
