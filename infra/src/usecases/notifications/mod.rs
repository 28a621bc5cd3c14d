//! Notifications for outbox events: who hears about an event (the worker; the union's admins;
//! for an overdue application also the parent union's admins — 督办), through which channel
//! (a WeChat subscribe message, else SMS), in which words (templates from configuration), and
//! the provider calls themselves, each one recorded in `deliveries`.
//!
//! The audience table lives in the domain (`zhijian_domain::notification_route::ROUTES`): a new
//! kind of event is one line there and, for new words, one `[notifications.templates.<name>]`
//! section in the configuration. Events without a route (or whose stored name this version
//! does not know) have nothing to notify and are settled as delivered.
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
//!
//! Parts: [`config`] (the words, and filling them in), [`plan`] (reading who to reach and
//! what to say, in one go), [`notifier`] (the provider calls and their records).

pub mod config;
mod notifier;
mod plan;

pub use config::{
    Facts, NotificationsConfig, TemplateConfig, local_minute, sms_params, wechat_data,
};
pub use notifier::{Notifier, Outcome};
pub use plan::set_admin_phone;
