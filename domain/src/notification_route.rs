//! Who hears about which outbox event, and through which channel: the notification audience
//! table ([`ROUTES`]) and its lookup ([`route_for`]). Pure data; the words of each
//! notification (its template, named here by key) come from configuration.
//!
//! Channels: the worker gets a WeChat subscribe message when the account has an openid and
//! the template a WeChat template id, else — or when WeChat cannot reach them — an SMS; admins
//! get an SMS ([`Channel`], [`worker_channels`], [`ADMIN_CHANNELS`]).

use crate::outbox_event::OutboxEvent;

/// Whose admins hear about an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The reviewers and managers of the union handling it (of the pool's owner for a pool).
    Union,
    /// Those, and every admin of the union above (督办).
    UnionAndParent,
    /// The managers of the union only (an admin's unusual viewing, told to the managers of
    /// the union above them).
    Managers,
}

/// A way of reaching someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A WeChat mini-program subscribe message.
    WeChat,
    /// An SMS to the phone on file.
    Sms,
}

/// The channels an admin is tried on, in order.
pub const ADMIN_CHANNELS: &[Channel] = &[Channel::Sms];

/// The channels a worker is tried on, in order: WeChat first when it can reach them (an
/// openid, and a WeChat template for the notification), SMS always as the fallback.
pub const fn worker_channels(wechat_reachable: bool) -> &'static [Channel] {
    if wechat_reachable {
        &[Channel::WeChat, Channel::Sms]
    } else {
        &[Channel::Sms]
    }
}

/// The admins told about an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminRecipients {
    /// The payload field naming their union (`union_id`, `from_union_id`, `to_union_id`).
    pub union_field: &'static str,
    /// Who of them.
    pub audience: Audience,
    /// Template key (`[notifications.templates.<key>]`) of their notification.
    pub template: &'static str,
}

/// Who is told about one event, with which template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The outbox event.
    pub event: OutboxEvent,
    /// Template key (`[notifications.templates.<key>]`) of the worker's notification.
    pub worker: Option<&'static str>,
    /// The admins told.
    pub admins: Option<AdminRecipients>,
}

impl Route {
    const fn new(event: OutboxEvent) -> Self {
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

    /// The admins of the union the payload names in `union_field`.
    const fn admins_of(
        self,
        union_field: &'static str,
        audience: Audience,
        template: &'static str,
    ) -> Self {
        Self {
            admins: Some(AdminRecipients {
                union_field,
                audience,
                template,
            }),
            ..self
        }
    }

    /// The template keys this route uses.
    pub fn templates(&self) -> impl Iterator<Item = &'static str> {
        self.worker
            .into_iter()
            .chain(self.admins.map(|admins| admins.template))
    }
}

/// Event → recipients and templates. Payloads name the worker through `account_id`,
/// `application_id` or `member_id`, unions through `union_id`, `from_union_id`,
/// `to_union_id` (and carry anything else the templates quote). An event without a route
/// notifies nobody.
pub const ROUTES: &[Route] = &[
    Route::new(OutboxEvent::ApplicationSubmitted)
        .worker("application_received")
        .admins(Audience::Union, "admin_new_application"),
    Route::new(OutboxEvent::ApplicationResubmitted)
        .worker("application_received")
        .admins(Audience::Union, "admin_new_application"),
    Route::new(OutboxEvent::ApplicationForwarded).admins(Audience::Union, "admin_new_application"),
    Route::new(OutboxEvent::ApplicationAssigned).admins(Audience::Union, "admin_new_application"),
    Route::new(OutboxEvent::ApplicationApproved).worker("application_approved"),
    Route::new(OutboxEvent::ApplicationRejected).worker("application_rejected"),
    Route::new(OutboxEvent::ApplicationReturned).worker("application_returned"),
    Route::new(OutboxEvent::ApplicationDueSoon).admins(Audience::Union, "admin_due_soon"),
    Route::new(OutboxEvent::ApplicationOverdue).admins(Audience::UnionAndParent, "admin_overdue"),
    Route::new(OutboxEvent::MemberBenefitsGranted).worker("benefits_granted"),
    Route::new(OutboxEvent::TransferRequested)
        .worker("transfer_step")
        .admins_of("from_union_id", Audience::Union, "admin_transfer_out"),
    Route::new(OutboxEvent::TransferReleased)
        .worker("transfer_step")
        .admins_of("to_union_id", Audience::Union, "admin_transfer_in"),
    Route::new(OutboxEvent::TransferAutoReleased)
        .worker("transfer_step")
        .admins_of("to_union_id", Audience::Union, "admin_transfer_in"),
    Route::new(OutboxEvent::TransferAccepted).worker("transfer_step"),
    Route::new(OutboxEvent::TransferCompletedIntoPool).worker("transfer_step"),
    Route::new(OutboxEvent::TransferRejectedBySource).worker("transfer_step"),
    Route::new(OutboxEvent::TransferRejectedByTarget).worker("transfer_step"),
    Route::new(OutboxEvent::AdminRevealsExceeded)
        .admins(Audience::Managers, "admin_reveals_exceeded"),
];

/// The route of an event, if it notifies anyone.
pub fn route_for(event: OutboxEvent) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.event == event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_unique_and_the_overdue_alert_reaches_the_parent_union() {
        for (i, route) in ROUTES.iter().enumerate() {
            assert!(
                ROUTES[..i].iter().all(|r| r.event != route.event),
                "{} twice",
                route.event
            );
        }
        let overdue = route_for(OutboxEvent::ApplicationOverdue).and_then(|r| r.admins);
        assert_eq!(
            overdue,
            Some(AdminRecipients {
                union_field: "union_id",
                audience: Audience::UnionAndParent,
                template: "admin_overdue"
            })
        );
        let out = route_for(OutboxEvent::TransferRequested).and_then(|r| r.admins);
        assert_eq!(out.map(|a| a.union_field), Some("from_union_id"));
        assert_eq!(
            route_for(OutboxEvent::ApplicationApproved).and_then(|r| r.worker),
            Some("application_approved")
        );
        assert!(route_for(OutboxEvent::ApplicationWithdrawn).is_none());
        let benefits = route_for(OutboxEvent::MemberBenefitsGranted);
        assert_eq!(benefits.and_then(|r| r.worker), Some("benefits_granted"));
        assert_eq!(benefits.and_then(|r| r.admins), None);
        assert_eq!(
            route_for(OutboxEvent::AdminRevealsExceeded).and_then(|r| r.admins),
            Some(AdminRecipients {
                union_field: "union_id",
                audience: Audience::Managers,
                template: "admin_reveals_exceeded"
            }),
            "unusual viewing is told to the managers of the union the payload names (the one above)"
        );
    }

    #[test]
    fn a_worker_hears_by_wechat_first_only_when_wechat_reaches_them() {
        assert_eq!(worker_channels(true), &[Channel::WeChat, Channel::Sms]);
        assert_eq!(worker_channels(false), &[Channel::Sms]);
        assert_eq!(ADMIN_CHANNELS, &[Channel::Sms]);
    }
}
