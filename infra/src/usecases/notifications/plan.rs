//! What one attempt at one event needs, read in one transaction: the facts the templates
//! quote, the worker's contact, the admins' phones, and who earlier attempts already reached.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;
use zhijian_domain::notification_route::{Audience, Route};
use zhijian_domain::outbox_event::OutboxEvent;

use crate::crypto::pii::PiiCipher;
use crate::db::StoreError;
use crate::db::schema::{accounts, admins, applications, members, unions};
use crate::usecases::delivery::{self, ClaimedEvent, Settled};
use crate::usecases::notifications::config::{Facts, local_minute};

/// How to reach the worker an event is about.
pub(super) struct WorkerContact {
    pub(super) account_id: Uuid,
    pub(super) openid: Option<String>,
    pub(super) phone: Option<String>,
}

/// An admin with a phone for notices.
pub(super) struct AdminContact {
    pub(super) admin_id: Uuid,
    pub(super) phone: String,
}

/// Everything one attempt at one event needs, read in one go.
pub(super) struct Plan {
    pub(super) facts: Facts,
    pub(super) worker: Option<WorkerContact>,
    pub(super) admins: Vec<AdminContact>,
    pub(super) settled: Settled,
}

#[derive(Queryable)]
struct ApplicationFacts {
    account_id: Uuid,
    union_id: i64,
    status: String,
    due_at: Option<DateTime<Utc>>,
    phone_cipher: String,
}

fn payload_uuid(payload: &Value, key: &str) -> Option<Uuid> {
    payload
        .get(key)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

fn status_label(status: &str) -> Option<&'static str> {
    use zhijian_domain::application::ApplicationStatus;
    use zhijian_domain::member::MemberStatus;
    use zhijian_domain::transfer::TransferStatus;
    ApplicationStatus::parse(status)
        .map(|s| s.label_zh())
        .or_else(|_| MemberStatus::parse(status).map(|s| s.label_zh()))
        .or_else(|_| TransferStatus::parse(status).map(|s| s.label_zh()))
        .ok()
}

/// What happened, in words: `transfer.released` → 原工会同意转出.
fn event_label(event: OutboxEvent) -> Option<&'static str> {
    use zhijian_domain::application::ApplicationEvent;
    use zhijian_domain::outbox_event::EventFamily;
    use zhijian_domain::transfer::TransferEvent;
    let (_, name) = event.as_str().split_once('.')?;
    match event.family() {
        EventFamily::Application => ApplicationEvent::parse(name).map(|e| e.label_zh()).ok(),
        EventFamily::Transfer => TransferEvent::parse(name).map(|e| e.label_zh()).ok(),
        EventFamily::Member | EventFamily::Admin | EventFamily::Partner => None,
    }
}

fn open_phone(pii: &PiiCipher, sealed: &str, whose: &str) -> Option<String> {
    if sealed.is_empty() {
        // Erased (cancellation or retention): there is no phone any more.
        return None;
    }
    match pii.decrypt(sealed, "phone") {
        Ok(phone) => Some(phone),
        Err(e) => {
            log::error!("notifications: the phone of {whose} does not decrypt: {e}");
            None
        }
    }
}

/// Reads what the templates quote and who to notify.
pub(super) fn load_plan(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    route: &Route,
    event: &ClaimedEvent,
) -> Result<Plan, StoreError> {
    let payload = &event.payload;
    let mut facts = Facts::from_payload(payload);
    facts.set("time", local_minute(event.created_at));
    if let Some(label) = event.event().and_then(event_label) {
        facts.set("event_label", label);
    }
    let application: Option<ApplicationFacts> = match payload_uuid(payload, "application_id") {
        Some(id) => applications::table
            .find(id)
            .select((
                applications::account_id,
                applications::union_id,
                applications::status,
                applications::due_at,
                applications::phone_cipher,
            ))
            .first(conn)
            .optional()?,
        None => None,
    };
    let member: Option<(Option<Uuid>, i64, String)> = match payload_uuid(payload, "member_id") {
        Some(id) => members::table
            .find(id)
            .select((
                members::account_id,
                members::union_id,
                members::membership_number,
            ))
            .first(conn)
            .optional()?,
        None => None,
    };
    let due_at = payload
        .get("due_at")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
        .or(application.as_ref().and_then(|a| a.due_at));
    if let Some(due_at) = due_at {
        facts.set("due_at", local_minute(due_at));
    }
    if facts.get("status").is_none()
        && let Some(application) = &application
    {
        facts.set("status", application.status.clone());
    }
    if let Some(label) = facts.get("status").and_then(status_label) {
        facts.set("status_label", label);
    }
    if facts.get("membership_number").is_none()
        && let Some((_, _, number)) = &member
    {
        facts.set("membership_number", number.clone());
    }

    // Every `…union_id` of the payload gives a `…union_name`; `union_id` defaults to the
    // application's (or member's) union.
    let mut union_ids: Vec<(String, i64)> = payload
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| key.ends_with("union_id"))
        .filter_map(|(key, value)| Some((key.clone(), value.as_i64()?)))
        .collect();
    if !union_ids.iter().any(|(key, _)| key == "union_id")
        && let Some(id) = application
            .as_ref()
            .map(|a| a.union_id)
            .or(member.as_ref().map(|m| m.1))
    {
        union_ids.push(("union_id".to_owned(), id));
    }
    let mut admin_union = None;
    for (key, id) in &union_ids {
        let union: Option<(String, String, Option<i64>)> = unions::table
            .find(*id)
            .select((unions::name, unions::kind, unions::parent_id))
            .first(conn)
            .optional()?;
        if let Some((name, kind, parent)) = union {
            facts.set(&key.replace("union_id", "union_name"), name);
            if route.admins.is_some_and(|a| a.union_field == key.as_str()) {
                // A pool is worked by its owner, the federation above it.
                admin_union = if kind == "pool" { parent } else { Some(*id) };
            }
        }
    }

    let account_id = payload_uuid(payload, "account_id")
        .or(application.as_ref().map(|a| a.account_id))
        .or(member.as_ref().and_then(|m| m.0));
    let worker = match (route.worker, account_id) {
        (Some(_), Some(account_id)) => {
            let account: Option<(Option<String>, Option<String>)> = accounts::table
                .find(account_id)
                // A cancelled account (注销) is told nothing more.
                .filter(accounts::cancelled_at.is_null())
                .select((accounts::wechat_openid, accounts::phone_cipher))
                .first(conn)
                .optional()?;
            account.map(|(openid, phone_cipher)| {
                let whose = format!("account {account_id}");
                let phone = phone_cipher
                    .as_deref()
                    .or(application.as_ref().map(|a| a.phone_cipher.as_str()))
                    .and_then(|sealed| open_phone(pii, sealed, &whose));
                WorkerContact {
                    account_id,
                    openid,
                    phone,
                }
            })
        }
        _ => None,
    };

    let mut admins = Vec::new();
    if let (Some(recipients), Some(owner)) = (route.admins, admin_union) {
        let roles: &[&str] = match recipients.audience {
            Audience::Managers => &["manager"],
            Audience::Union | Audience::UnionAndParent => &["reviewer", "manager"],
        };
        admins.extend(admins_of(conn, pii, owner, roles)?);
        if recipients.audience == Audience::UnionAndParent {
            let above: Option<Option<i64>> = unions::table
                .find(owner)
                .select(unions::parent_id)
                .first(conn)
                .optional()?;
            if let Some(Some(above)) = above {
                for admin in admins_of(conn, pii, above, &["reviewer", "manager", "viewer"])? {
                    if !admins
                        .iter()
                        .any(|a: &AdminContact| a.admin_id == admin.admin_id)
                    {
                        admins.push(admin);
                    }
                }
            }
        }
    }
    let settled = delivery::settled(conn, event.id)?;
    Ok(Plan {
        facts,
        worker,
        admins,
        settled,
    })
}

/// The admins of `union_id` in `roles` who have a phone for notices.
fn admins_of(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    union_id: i64,
    roles: &[&str],
) -> Result<Vec<AdminContact>, StoreError> {
    let rows: Vec<(Uuid, Option<String>)> = admins::table
        .filter(admins::union_id.eq(union_id))
        .filter(admins::role.eq_any(roles))
        .filter(admins::phone_cipher.is_not_null())
        .order(admins::id.asc())
        .select((admins::id, admins::phone_cipher))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(admin_id, sealed)| {
            let phone = open_phone(pii, sealed.as_deref()?, &format!("admin {admin_id}"))?;
            Some(AdminContact { admin_id, phone })
        })
        .collect())
}

/// Seals `phone` as the notice phone of admin `admin_id` (`None` clears it).
pub fn set_admin_phone(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    admin_id: Uuid,
    phone: Option<&zhijian_domain::phone::PhoneNumber>,
) -> Result<(), StoreError> {
    let sealed = phone
        .map(|p| {
            pii.encrypt(p.expose(), "phone")
                .map(|s| s.to_string())
                .map_err(|e| StoreError::broken(format!("cannot encrypt a phone: {e}")))
        })
        .transpose()?;
    let updated = diesel::update(admins::table.find(admin_id))
        .set(admins::phone_cipher.eq(sealed))
        .execute(conn)?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_labels_cover_applications_and_members() {
        assert_eq!(status_label("approved"), Some("已通过"));
        assert_eq!(status_label("pending_review"), Some("待审核"));
        assert!(status_label("active").is_some());
        assert_eq!(status_label("released"), Some("待接收"));
        assert_eq!(status_label("nonsense"), None);
    }

    #[test]
    fn an_event_is_labelled_by_its_domain_event() {
        assert_eq!(
            event_label(OutboxEvent::TransferReleased),
            Some("原工会同意转出")
        );
        assert_eq!(event_label(OutboxEvent::MemberRetained), None);
    }
}
