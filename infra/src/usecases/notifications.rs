//! Notifications for outbox events: who hears about an event (the worker; the union's admins;
//! for an overdue application also the parent union's admins — 督办), through which channel
//! (a WeChat subscribe message, else SMS), in which words (templates from configuration), and
//! the provider calls themselves, each one recorded in `deliveries`.
//!
//! [`ROUTES`] maps event types to recipients and templates: a new kind of event is one line
//! there and, for new words, one `[notifications.templates.<name>]` section in the
//! configuration. Events without a route have nothing to notify and are settled as delivered.
//!
//! A worker is sent a subscribe message when the account has an openid and the template a
//! WeChat template id; when WeChat cannot reach them (no subscription grant — 43101 —, or a
//! permanent WeChat error) the same notification goes by SMS, to the account's phone or else
//! the phone on the application. Admins are notified by SMS, to the phone on their admin
//! account. Every message for one recipient of one event carries the same `out_id`
//! (`outbox-<id>-w` for the worker, `outbox-<id>-a<admin id>` for an admin), so a message
//! repeated after a crash is recognisable at the provider and in `deliveries`.
//!
//! Phone numbers, openids and message texts are never logged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;
use zhijian_domain::notification::Verdict;
use zhijian_domain::ports::{
    SmsError, SmsMessage, SmsSender, SmsTemplate, SubscribeMessage, WeChat, WeChatError,
};

use crate::crypto::pii::PiiCipher;
use crate::db::schema::{accounts, admins, applications, members, unions};
use crate::db::{self, PgPool, StoreError};
use crate::providers::sms::SmsProvider;
use crate::providers::wechat::truncate_value;
use crate::usecases::delivery::{self, ClaimedEvent, DeliveryRecord, Settled};

/// Whose admins hear about an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The reviewers and managers of the union handling it (of the pool's owner for a pool).
    Union,
    /// Those, and every admin of the union above (督办).
    UnionAndParent,
}

/// Who is told about one event type, with which template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The outbox event type.
    pub event: &'static str,
    /// Template key (`[notifications.templates.<key>]`) of the worker's notification.
    pub worker: Option<&'static str>,
    /// The admins told: the payload field naming their union (`union_id`, `from_union_id` …),
    /// who of them, and their template key.
    pub admins: Option<(&'static str, Audience, &'static str)>,
}

impl Route {
    const fn new(event: &'static str) -> Self {
        Self {
            event,
            worker: None,
            admins: None,
        }
    }

    const fn worker(self, template: &'static str) -> Self {
        Self {
            worker: Some(template),
            ..self
        }
    }

    /// The admins of the payload's `union_id`.
    const fn admins(self, audience: Audience, template: &'static str) -> Self {
        self.admins_of("union_id", audience, template)
    }

    /// The admins of the union the payload names in `field`.
    const fn admins_of(
        self,
        field: &'static str,
        audience: Audience,
        template: &'static str,
    ) -> Self {
        Self {
            admins: Some((field, audience, template)),
            ..self
        }
    }

    /// The template keys this route uses.
    pub fn templates(&self) -> impl Iterator<Item = &'static str> {
        self.worker
            .into_iter()
            .chain(self.admins.map(|(_, _, t)| t))
    }
}

/// Event type → recipients and templates. Payloads name the worker through `account_id`,
/// `application_id` or `member_id`, unions through `union_id`, `from_union_id`,
/// `to_union_id` (and carry anything else the templates quote).
pub const ROUTES: &[Route] = &[
    Route::new("application.submitted")
        .worker("application_received")
        .admins(Audience::Union, "admin_new_application"),
    Route::new("application.resubmitted")
        .worker("application_received")
        .admins(Audience::Union, "admin_new_application"),
    Route::new("application.forwarded").admins(Audience::Union, "admin_new_application"),
    Route::new("application.assigned").admins(Audience::Union, "admin_new_application"),
    Route::new("application.approved").worker("application_approved"),
    Route::new("application.rejected").worker("application_rejected"),
    Route::new("application.returned").worker("application_returned"),
    Route::new("application.due_soon").admins(Audience::Union, "admin_due_soon"),
    Route::new("application.overdue").admins(Audience::UnionAndParent, "admin_overdue"),
    Route::new("transfer.requested")
        .worker("transfer_step")
        .admins_of("from_union_id", Audience::Union, "admin_transfer_out"),
    Route::new("transfer.released")
        .worker("transfer_step")
        .admins_of("to_union_id", Audience::Union, "admin_transfer_in"),
    Route::new("transfer.auto_released")
        .worker("transfer_step")
        .admins_of("to_union_id", Audience::Union, "admin_transfer_in"),
    Route::new("transfer.accepted").worker("transfer_step"),
    Route::new("transfer.completed_into_pool").worker("transfer_step"),
    Route::new("transfer.rejected_by_source").worker("transfer_step"),
    Route::new("transfer.rejected_by_target").worker("transfer_step"),
];

/// The route of an event type, if it notifies anyone.
pub fn route_for(event_type: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.event == event_type)
}

/// `[notifications]` settings: the words of every notification.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NotificationsConfig {
    /// Template key → template.
    #[serde(default)]
    pub templates: BTreeMap<String, TemplateConfig>,
}

/// One notification's words. Values may quote the event's facts as `{name}`: every top-level
/// field of the payload (`membership_number`, `reason`, `status` …), `union_name`,
/// `status_label`, `due_at` and `time` (the event's time), both as `YYYY-MM-DD HH:mm` in
/// Beijing time. A missing fact reads `-`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TemplateConfig {
    /// WeChat subscribe-message template id (from the mini-program console); empty: SMS only.
    pub template_id: String,
    /// Mini-program page the message opens.
    pub page: String,
    /// WeChat field (`thing1`, `phrase2`, `time3` …) → value; cut to the field type's limit.
    pub fields: BTreeMap<String, String>,
    /// Parameters of the SMS notification template, in order; each cut to 35 characters.
    pub sms: Vec<String>,
}

/// Field types of subscribe messages.
const FIELD_KINDS: &[&str] = &[
    "thing",
    "phrase",
    "name",
    "character_string",
    "number",
    "time",
    "date",
    "amount",
    "letter",
    "symbol",
    "phone_number",
    "car_number",
];

/// Longest SMS template parameter sent (Aliyun's limit for a variable).
const SMS_PARAM_CHARS: usize = 35;

impl NotificationsConfig {
    /// Checks that every template a route uses exists, has SMS words (the fallback of every
    /// notification), and names only real WeChat field types.
    pub fn validate(&self) -> Result<(), String> {
        for key in ROUTES.iter().flat_map(Route::templates) {
            let template = self.templates.get(key).ok_or_else(|| {
                format!("notifications.templates.{key} is missing (see config/default.toml)")
            })?;
            if template.sms.is_empty() {
                return Err(format!(
                    "notifications.templates.{key}.sms is empty: SMS is every notification's fallback"
                ));
            }
            if !template.template_id.is_empty() && template.fields.is_empty() {
                return Err(format!(
                    "notifications.templates.{key}.fields is empty but a template_id is set"
                ));
            }
            for field in template.fields.keys() {
                let kind = field.trim_end_matches(|c: char| c.is_ascii_digit());
                if kind.len() == field.len() || !FIELD_KINDS.contains(&kind) {
                    return Err(format!(
                        "notifications.templates.{key}.fields.{field}: not a WeChat field name (thing1, phrase2, time3 …)"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The facts a template may quote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts(BTreeMap<String, String>);

impl Facts {
    /// The top-level strings and numbers of a payload.
    pub fn from_payload(payload: &Value) -> Self {
        let mut facts = BTreeMap::new();
        if let Some(object) = payload.as_object() {
            for (key, value) in object {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                facts.insert(key.clone(), text);
            }
        }
        Self(facts)
    }

    /// Sets a fact.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_owned(), value.into());
    }

    /// A fact.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// `text` with every `{name}` replaced by its fact (`-` when missing or empty).
    pub fn render(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let value = self.get(&after[..close]).filter(|v| !v.trim().is_empty());
                    out.push_str(value.unwrap_or("-"));
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// `YYYY-MM-DD HH:mm`, Beijing time: the `time` field format of subscribe messages.
pub fn local_minute(instant: DateTime<Utc>) -> String {
    zhijian_domain::calendar::to_local(instant)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The subscribe-message data of `template` for `facts`: values rendered and cut to their
/// field type's limit; a `time` field that does not render to a time shows the event's time.
pub fn wechat_data(template: &TemplateConfig, facts: &Facts) -> Vec<(String, String)> {
    template
        .fields
        .iter()
        .map(|(field, value)| {
            let mut rendered = facts.render(value);
            let kind = field.trim_end_matches(|c: char| c.is_ascii_digit());
            if kind == "time"
                && chrono::NaiveDateTime::parse_from_str(&rendered, "%Y-%m-%d %H:%M").is_err()
            {
                rendered = facts.get("time").unwrap_or_default().to_owned();
            }
            (field.clone(), truncate_value(field, &rendered))
        })
        .collect()
}

/// The SMS parameters of `template` for `facts`, each cut to [`SMS_PARAM_CHARS`].
pub fn sms_params(template: &TemplateConfig, facts: &Facts) -> Vec<String> {
    template
        .sms
        .iter()
        .map(|param| facts.render(param).chars().take(SMS_PARAM_CHARS).collect())
        .collect()
}

/// How to reach the worker an event is about.
struct WorkerContact {
    account_id: Uuid,
    openid: Option<String>,
    phone: Option<String>,
}

/// An admin with a phone for notices.
struct AdminContact {
    admin_id: Uuid,
    phone: String,
}

/// Everything one attempt at one event needs, read in one go.
struct Plan {
    facts: Facts,
    worker: Option<WorkerContact>,
    admins: Vec<AdminContact>,
    settled: Settled,
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
fn event_label(event_type: &str) -> Option<&'static str> {
    use zhijian_domain::application::ApplicationEvent;
    use zhijian_domain::transfer::TransferEvent;
    let (family, event) = event_type.split_once('.')?;
    match family {
        "application" => ApplicationEvent::parse(event).map(|e| e.label_zh()).ok(),
        "transfer" => TransferEvent::parse(event).map(|e| e.label_zh()).ok(),
        _ => None,
    }
}

fn open_phone(pii: &PiiCipher, sealed: &str, whose: &str) -> Option<String> {
    match pii.decrypt(sealed, "phone") {
        Ok(phone) => Some(phone),
        Err(e) => {
            log::error!("notifications: the phone of {whose} does not decrypt: {e}");
            None
        }
    }
}

/// Reads what the templates quote and who to notify.
fn load_plan(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    route: &Route,
    event: &ClaimedEvent,
) -> Result<Plan, StoreError> {
    let payload = &event.payload;
    let mut facts = Facts::from_payload(payload);
    facts.set("time", local_minute(event.created_at));
    if let Some(label) = event_label(&event.event_type) {
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
    let member: Option<(Uuid, i64, String)> = match payload_uuid(payload, "member_id") {
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
            if route.admins.is_some_and(|a| a.0 == key.as_str()) {
                // A pool is worked by its owner, the federation above it.
                admin_union = if kind == "pool" { parent } else { Some(*id) };
            }
        }
    }

    let account_id = payload_uuid(payload, "account_id")
        .or(application.as_ref().map(|a| a.account_id))
        .or(member.as_ref().map(|m| m.0));
    let worker = match (route.worker, account_id) {
        (Some(_), Some(account_id)) => {
            let account: Option<(Option<String>, Option<String>)> = accounts::table
                .find(account_id)
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
    if let (Some((_, audience, _)), Some(owner)) = (route.admins, admin_union) {
        admins.extend(admins_of(conn, pii, owner, &["reviewer", "manager"])?);
        if audience == Audience::UnionAndParent {
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
                .map_err(|e| StoreError::Internal(format!("cannot encrypt a phone: {e}")))
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

/// How one attempt at one event ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everyone was reached (or there was no one to notify).
    Delivered,
    /// Something passing failed: try again later (recipients already reached are skipped).
    Retry(String),
    /// Nobody could be reached, for good.
    Failed(String),
}

/// How one recipient fared.
enum Reach {
    Delivered,
    Retry(String),
    Permanent(String),
}

fn wechat_error_code(error: &WeChatError) -> String {
    match error {
        WeChatError::InvalidCode => "invalid_code".into(),
        WeChatError::UserBlocked => "user_blocked".into(),
        WeChatError::NotSubscribed => "43101".into(),
        WeChatError::RateLimited => "rate_limited".into(),
        WeChatError::Unavailable(_) => "unavailable".into(),
        WeChatError::Other { code, .. } => code.to_string(),
    }
}

fn sms_error_code(error: &SmsError) -> &'static str {
    match error {
        SmsError::RateLimited => "rate_limited",
        SmsError::InvalidNumber => "invalid_number",
        SmsError::Blacklisted => "blacklisted",
        SmsError::Unavailable(_) => "unavailable",
    }
}

fn provider_name(provider: SmsProvider) -> &'static str {
    match provider {
        SmsProvider::Tencent => "tencent",
        SmsProvider::Aliyun => "aliyun",
        SmsProvider::Log => "log",
    }
}

fn elapsed_ms(started: Instant) -> i32 {
    i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX)
}

/// Delivers the notifications of claimed outbox events.
pub struct Notifier {
    pool: PgPool,
    wechat: Arc<dyn WeChat>,
    sms: Arc<dyn SmsSender>,
    pii: Arc<PiiCipher>,
    config: NotificationsConfig,
    sms_provider: &'static str,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("sms_provider", &self.sms_provider)
            .finish_non_exhaustive()
    }
}

/// The recipient of one message.
struct Recipient<'a> {
    kind: &'static str,
    id: Uuid,
    out_id: String,
    phone: Option<&'a str>,
}

impl Notifier {
    /// A notifier sending through `wechat` and `sms` (`sms_provider` names it in records).
    pub fn new(
        pool: PgPool,
        wechat: Arc<dyn WeChat>,
        sms: Arc<dyn SmsSender>,
        sms_provider: SmsProvider,
        pii: Arc<PiiCipher>,
        config: NotificationsConfig,
    ) -> Self {
        Self {
            pool,
            wechat,
            sms,
            pii,
            config,
            sms_provider: provider_name(sms_provider),
        }
    }

    /// One attempt at `event`: every recipient not reached (or refused for good) by an earlier
    /// attempt is sent its message, and every provider call is recorded.
    pub async fn deliver(&self, event: &ClaimedEvent) -> Outcome {
        let Some(route) = route_for(&event.event_type) else {
            return Outcome::Delivered;
        };
        let pii = Arc::clone(&self.pii);
        let claimed = event.clone();
        let plan = db::run(&self.pool, move |conn| {
            load_plan(conn, &pii, route, &claimed)
        })
        .await;
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => return Outcome::Retry(format!("cannot read the event's recipients: {e}")),
        };
        let mut reaches = Vec::new();
        if let (Some(key), Some(worker)) = (route.worker, &plan.worker) {
            let id = worker.account_id.to_string();
            if !plan.settled.is_done("worker", &id) {
                reaches.push(self.notify_worker(event, key, &plan, worker).await);
            }
        }
        if let Some((_, _, key)) = route.admins {
            for admin in &plan.admins {
                if plan.settled.is_done("admin", &admin.admin_id.to_string()) {
                    continue;
                }
                let recipient = Recipient {
                    kind: "admin",
                    id: admin.admin_id,
                    out_id: format!("outbox-{}-a{}", event.id, admin.admin_id.simple()),
                    phone: Some(&admin.phone),
                };
                reaches.push(self.send_sms(event, key, &plan.facts, &recipient).await);
            }
        }
        let reached_before = plan.settled.reached_anyone();
        let mut permanent = None;
        let mut reached = reached_before;
        for reach in reaches {
            match reach {
                Reach::Retry(error) => return Outcome::Retry(error),
                Reach::Permanent(error) => {
                    permanent.get_or_insert(error);
                }
                Reach::Delivered => reached = true,
            }
        }
        match permanent {
            Some(error) if !reached => Outcome::Failed(error),
            _ => Outcome::Delivered,
        }
    }

    async fn notify_worker(
        &self,
        event: &ClaimedEvent,
        key: &str,
        plan: &Plan,
        worker: &WorkerContact,
    ) -> Reach {
        let Some(template) = self.config.templates.get(key) else {
            return Reach::Permanent(format!("no template {key}"));
        };
        let recipient = Recipient {
            kind: "worker",
            id: worker.account_id,
            out_id: format!("outbox-{}-w", event.id),
            phone: worker.phone.as_deref(),
        };
        let account = worker.account_id.to_string();
        if let Some(openid) = &worker.openid
            && !template.template_id.is_empty()
            && !plan.settled.wechat_refused(&account)
        {
            let message = SubscribeMessage {
                openid: openid.clone(),
                template_id: template.template_id.clone(),
                page: plan.facts.render(&template.page),
                data: wechat_data(template, &plan.facts),
            };
            let started = Instant::now();
            let result = self.wechat.send_subscribe_message(&message).await;
            let verdict = Verdict::of_wechat(&result);
            let (code, message, reference) = match &result {
                Ok(msgid) => (None, None, Some(msgid.to_string())),
                Err(e) => (Some(wechat_error_code(e)), Some(e.to_string()), None),
            };
            let status = match verdict {
                Verdict::Delivered => "ok",
                Verdict::Fallback | Verdict::Permanent => "fallback",
                Verdict::Retry => "failed",
            };
            let record = DeliveryRecord {
                outbox_id: event.id,
                attempt: event.attempts,
                channel: "wechat",
                recipient_kind: recipient.kind,
                recipient_id: account.clone(),
                provider: "wechat",
                out_id: recipient.out_id.clone(),
                status,
                retryable: verdict == Verdict::Retry,
                error_code: code,
                error_message: message.clone(),
                provider_ref: reference,
                duration_ms: elapsed_ms(started),
            };
            if let Err(e) = self.record(record).await {
                return Reach::Retry(e);
            }
            log::info!(
                "notification outbox_id={} event={} channel=wechat recipient=worker out_id={} status={status}",
                event.id,
                event.event_type,
                recipient.out_id
            );
            match verdict {
                Verdict::Delivered => return Reach::Delivered,
                Verdict::Retry => {
                    return Reach::Retry(format!("wechat: {}", message.unwrap_or_default()));
                }
                Verdict::Fallback | Verdict::Permanent => {}
            }
        }
        self.send_sms(event, key, &plan.facts, &recipient).await
    }

    async fn send_sms(
        &self,
        event: &ClaimedEvent,
        key: &str,
        facts: &Facts,
        recipient: &Recipient<'_>,
    ) -> Reach {
        let Some(template) = self.config.templates.get(key) else {
            return Reach::Permanent(format!("no template {key}"));
        };
        let mut record = DeliveryRecord {
            outbox_id: event.id,
            attempt: event.attempts,
            channel: "sms",
            recipient_kind: recipient.kind,
            recipient_id: recipient.id.to_string(),
            provider: self.sms_provider,
            out_id: recipient.out_id.clone(),
            status: "failed",
            retryable: false,
            error_code: None,
            error_message: None,
            provider_ref: None,
            duration_ms: 0,
        };
        let Some(phone) = recipient.phone else {
            record.error_code = Some("no_phone".into());
            record.error_message = Some("no phone number to send to".into());
            if let Err(e) = self.record(record).await {
                return Reach::Retry(e);
            }
            log::info!(
                "notification outbox_id={} event={} recipient={} out_id={}: no phone number, nothing sent",
                event.id,
                event.event_type,
                recipient.kind,
                recipient.out_id
            );
            return Reach::Permanent("no phone number".into());
        };
        let message = SmsMessage {
            phone: phone.to_owned(),
            template: SmsTemplate::Notification,
            params: sms_params(template, facts),
            out_id: recipient.out_id.clone(),
        };
        let started = Instant::now();
        let result = self.sms.send(&message).await;
        let verdict = Verdict::of_sms(&result);
        record.duration_ms = elapsed_ms(started);
        match &result {
            Ok(receipt) => {
                record.status = "ok";
                record.provider_ref = Some(receipt.provider_id.clone());
            }
            Err(e) => {
                record.retryable = verdict == Verdict::Retry;
                record.error_code = Some(sms_error_code(e).to_owned());
                record.error_message = Some(e.to_string());
            }
        }
        let error = record.error_message.clone().unwrap_or_default();
        if let Err(e) = self.record(record).await {
            return Reach::Retry(e);
        }
        log::info!(
            "notification outbox_id={} event={} channel=sms recipient={} out_id={} verdict={verdict:?}",
            event.id,
            event.event_type,
            recipient.kind,
            recipient.out_id
        );
        match verdict {
            Verdict::Delivered => Reach::Delivered,
            Verdict::Retry => Reach::Retry(format!("sms: {error}")),
            Verdict::Fallback | Verdict::Permanent => Reach::Permanent(format!("sms: {error}")),
        }
    }

    async fn record(&self, record: DeliveryRecord) -> Result<(), String> {
        db::run(&self.pool, move |conn| delivery::record(conn, &record))
            .await
            .map_err(|e: StoreError| {
                log::warn!("notifications: cannot record a delivery: {e}");
                format!("cannot record the delivery: {e}")
            })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn template(fields: &[(&str, &str)], sms: &[&str]) -> TemplateConfig {
        TemplateConfig {
            template_id: "tpl".into(),
            page: "pages/application/detail?id={application_id}".into(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            sms: sms.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn placeholders_are_filled_from_the_payload_and_missing_ones_read_a_dash() {
        let mut facts = Facts::from_payload(&json!({
            "application_id": "a-1", "union_id": 7, "reason": null, "membership_number": "5002372600000011"
        }));
        facts.set("union_name", "巫山县快递行业工会联合会");
        assert_eq!(
            facts.render("id={application_id}&u={union_id}"),
            "id=a-1&u=7"
        );
        assert_eq!(facts.render("{reason}"), "-");
        assert_eq!(
            facts.render("{unknown} {membership_number}"),
            "- 5002372600000011"
        );
        assert_eq!(facts.render("no braces"), "no braces");
        assert_eq!(facts.render("open { only"), "open { only");
    }

    #[test]
    fn wechat_values_fit_their_field_type_and_a_bad_time_shows_the_event_time() {
        let mut facts = Facts::default();
        facts.set("union_name", "一二三四五六七八九十一二三四五六七八九十一");
        facts.set("time", "2026-11-23 10:00");
        let data = wechat_data(
            &template(
                &[
                    ("thing1", "{union_name}入会申请"),
                    ("phrase2", "审核已经通过了"),
                    ("time3", "{due_at}"),
                ],
                &[],
            ),
            &facts,
        );
        assert_eq!(data[0].0, "phrase2");
        assert_eq!(data[0].1, "审核已经通");
        assert_eq!(data[1].1.chars().count(), 20);
        assert!(data[1].1.ends_with('…'));
        assert_eq!(data[2], ("time3".to_owned(), "2026-11-23 10:00".to_owned()));
    }

    #[test]
    fn sms_parameters_are_cut_to_thirty_five_characters() {
        let mut facts = Facts::default();
        facts.set("reason", "很".repeat(50));
        let params = sms_params(&template(&[], &["入会申请未通过", "{reason}"]), &facts);
        assert_eq!(params[0], "入会申请未通过");
        assert_eq!(params[1].chars().count(), 35);
    }

    #[test]
    fn every_route_is_unique_and_the_overdue_alert_reaches_the_parent_union() {
        for (i, route) in ROUTES.iter().enumerate() {
            assert!(
                ROUTES[..i].iter().all(|r| r.event != route.event),
                "{}",
                route.event
            );
        }
        assert_eq!(
            route_for("application.overdue").and_then(|r| r.admins),
            Some(("union_id", Audience::UnionAndParent, "admin_overdue"))
        );
        assert_eq!(
            route_for("transfer.requested")
                .and_then(|r| r.admins)
                .map(|a| a.0),
            Some("from_union_id")
        );
        assert_eq!(event_label("transfer.released"), Some("原工会同意转出"));
        assert_eq!(event_label("member.retained"), None);
        assert_eq!(
            route_for("application.approved").and_then(|r| r.worker),
            Some("application_approved")
        );
        assert!(route_for("application.withdrawn").is_none());
    }

    #[test]
    fn the_configuration_must_cover_every_route_with_sms_words() {
        let mut config = NotificationsConfig::default();
        assert!(
            config
                .validate()
                .unwrap_err()
                .contains("notifications.templates.")
        );
        for key in ROUTES.iter().flat_map(Route::templates) {
            config
                .templates
                .insert(key.to_owned(), template(&[("thing1", "x")], &["a"]));
        }
        assert_eq!(config.validate(), Ok(()));
        config
            .templates
            .insert("admin_overdue".into(), template(&[("thing1", "x")], &[]));
        assert!(config.validate().unwrap_err().contains("admin_overdue.sms"));
        config.templates.insert(
            "admin_overdue".into(),
            template(&[("colour1", "x")], &["a"]),
        );
        assert!(config.validate().unwrap_err().contains("colour1"));
    }

    #[test]
    fn status_labels_cover_applications_and_members() {
        assert_eq!(status_label("approved"), Some("已通过"));
        assert_eq!(status_label("pending_review"), Some("待审核"));
        assert!(status_label("active").is_some());
        assert_eq!(status_label("released"), Some("待接收"));
        assert_eq!(status_label("nonsense"), None);
    }
}
