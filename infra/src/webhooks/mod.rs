//! Partner webhooks: the SSRF guard every target passes ([`guard`]), Standard Webhooks
//! signatures ([`sign`]), one HTTP attempt ([`deliver`]), the endpoints and the delivery log
//! ([`store`]), and the outbox handler that sends each queued message ([`dispatch`]).
//!
//! A message is queued in the business transaction ([`store::enqueue_for_client`]): one row
//! in `webhook_deliveries` per endpoint subscribed to the event, and one `partner.webhook`
//! outbox event naming it. The outbox dispatcher then calls [`dispatch::WebhookDispatcher`],
//! which checks the endpoint's URL again (DNS answers change), signs with every live secret,
//! sends to the checked address and records the attempt; backoff and dead-lettering are the
//! outbox's own. A dead or failed message can be sent again ([`store::redeliver`]) with the
//! same `webhook-id`, so the receiver can recognise it.

pub mod deliver;
pub mod dispatch;
pub mod guard;
pub mod sign;
pub mod store;

/// The event types a partner endpoint can subscribe to (about consenting workers only).
pub const EVENT_TYPES: &[&str] = &[
    "application.approved",
    "application.rejected",
    "application.returned",
    "member.transferred",
    "member.withdrawn",
];

/// `[webhooks]` settings.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct WebhooksConfig {
    /// Accept `http://` and loopback targets (a receiver on the developer's machine, tests).
    /// Development only: refused when `APP_ENV=production`.
    pub allow_insecure_targets: bool,
}

impl WebhooksConfig {
    /// The SSRF guard's policy under these settings.
    pub const fn policy(&self) -> guard::GuardPolicy {
        guard::GuardPolicy::from_allow_insecure_targets(self.allow_insecure_targets)
    }
}
