//! The provider calls of one attempt at one event, each recorded in `deliveries`.

use std::sync::Arc;
use std::time::Instant;

use uuid::Uuid;
use zhijian_domain::notification::Verdict;
use zhijian_domain::notification_route::{Channel, route_for, worker_channels};
use zhijian_domain::ports::{
    SmsError, SmsMessage, SmsSender, SmsTemplate, SubscribeMessage, WeChat, WeChatError,
};

use crate::crypto::pii::PiiCipher;
use crate::db::{self, PgPool, StoreError};
use crate::providers::sms::SmsProvider;
use crate::usecases::delivery::{self, ClaimedEvent, DeliveryRecord};
use crate::usecases::notifications::config::{Facts, NotificationsConfig, sms_params, wechat_data};
use crate::usecases::notifications::plan::{Plan, WorkerContact, load_plan};

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
        // A name this version does not know has no route, like an event that notifies nobody.
        let Some(route) = event.event().and_then(route_for) else {
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
        if let Some(recipients) = route.admins {
            let key = recipients.template;
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
        let wechat_reachable = worker.openid.is_some()
            && !template.template_id.is_empty()
            && !plan.settled.wechat_refused(&account);
        if let Some(openid) = &worker.openid
            && worker_channels(wechat_reachable).contains(&Channel::WeChat)
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
                outbox_id = event.id,
                event = event.event_type.as_str(),
                channel = "wechat",
                recipient = "worker",
                out_id = recipient.out_id.as_str(),
                status:% = status;
                "notification"
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
                outbox_id = event.id,
                event = event.event_type.as_str(),
                recipient:% = recipient.kind,
                out_id = recipient.out_id.as_str();
                "notification: no phone number, nothing sent"
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
            outbox_id = event.id,
            event = event.event_type.as_str(),
            channel = "sms",
            recipient:% = recipient.kind,
            out_id = recipient.out_id.as_str(),
            verdict:? = verdict;
            "notification"
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
