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

pub mod guard;
pub mod sign;
