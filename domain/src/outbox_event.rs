//! The names of outbox events: what a business transaction announces to the dispatcher
//! (notifications now, partner webhooks later). Each name is `<family>.<event>` and is stored
//! as text in `outbox.event_type`; [`OutboxEvent`] is the closed list of them.

use crate::application::ApplicationEvent;
use crate::member::MemberEvent;
use crate::notification::DeadlineAlert;
use crate::transfer::TransferEvent;

/// What an outbox event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventFamily {
    /// `application.*`: a membership application.
    Application,
    /// `member.*`: a membership.
    Member,
    /// `transfer.*`: a transfer between unions.
    Transfer,
    /// `admin.*`: an admin's conduct (unusual viewing of personal data).
    Admin,
    /// `partner.*`: a message to a partner platform (a webhook).
    Partner,
}

macro_rules! outbox_events {
    ( $( $(#[$vmeta:meta])* $variant:ident = $s:literal, $family:ident; )+ ) => {
        /// An outbox event name (`outbox.event_type`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum OutboxEvent {
            $( $(#[$vmeta])* $variant, )+
        }

        impl OutboxEvent {
            /// Every event, in declaration order.
            pub const ALL: &'static [Self] = &[ $( Self::$variant, )+ ];

            /// The stored name, e.g. `application.approved`.
            pub const fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $s, )+ }
            }

            /// What the event is about.
            pub const fn family(self) -> EventFamily {
                match self { $( Self::$variant => EventFamily::$family, )+ }
            }

            /// The event of a stored name; `None` for a name this version does not know.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $( $s => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }
    };
}

outbox_events! {
    /// An application was submitted and routed to a union.
    ApplicationSubmitted = "application.submitted", Application;
    /// An application went to the pool (no union matched).
    ApplicationPooled = "application.pooled", Application;
    /// An application was approved.
    ApplicationApproved = "application.approved", Application;
    /// An application was rejected.
    ApplicationRejected = "application.rejected", Application;
    /// An application was returned for correction.
    ApplicationReturned = "application.returned", Application;
    /// A returned application was submitted again.
    ApplicationResubmitted = "application.resubmitted", Application;
    /// An application was forwarded to another union.
    ApplicationForwarded = "application.forwarded", Application;
    /// A pooled application was assigned to a union.
    ApplicationAssigned = "application.assigned", Application;
    /// The applicant withdrew the application.
    ApplicationWithdrawn = "application.withdrawn", Application;
    /// A returned application expired.
    ApplicationExpired = "application.expired", Application;
    /// An application's review deadline is near.
    ApplicationDueSoon = "application.due_soon", Application;
    /// An application passed its review deadline (督办).
    ApplicationOverdue = "application.overdue", Application;
    /// A membership was retained (保留会籍).
    MemberRetained = "member.retained", Member;
    /// A retained membership became active again.
    MemberReactivated = "member.reactivated", Member;
    /// A member withdrew (退会).
    MemberWithdrawn = "member.withdrawn", Member;
    /// A member was expelled.
    MemberExpelled = "member.expelled", Member;
    /// A member died.
    MemberDeceased = "member.deceased", Member;
    /// A member's transfer started.
    MemberTransferStarted = "member.transfer_started", Member;
    /// A member's transfer finished.
    MemberTransferFinished = "member.transfer_finished", Member;
    /// A member's transfer ended without moving them.
    MemberTransferAborted = "member.transfer_aborted", Member;
    /// A new member received welcome benefits (入会礼遇).
    MemberBenefitsGranted = "member.benefits_granted", Member;
    /// A member asked to transfer.
    TransferRequested = "transfer.requested", Transfer;
    /// The source union released the member.
    TransferReleased = "transfer.released", Transfer;
    /// The source union stayed silent; the member was released automatically.
    TransferAutoReleased = "transfer.auto_released", Transfer;
    /// The target union accepted the member.
    TransferAccepted = "transfer.accepted", Transfer;
    /// No target union: the member went to the target county's pool.
    TransferCompletedIntoPool = "transfer.completed_into_pool", Transfer;
    /// The source union refused to release the member.
    TransferRejectedBySource = "transfer.rejected_by_source", Transfer;
    /// The target union refused the member.
    TransferRejectedByTarget = "transfer.rejected_by_target", Transfer;
    /// The member cancelled the transfer.
    TransferCancelled = "transfer.cancelled", Transfer;
    /// An admin saw personal data in clear more often in an hour than allowed, and was slowed.
    AdminRevealsExceeded = "admin.reveals_exceeded", Admin;
    /// A webhook message to a partner's endpoint (payload `{"delivery_id"}`, a row of
    /// `webhook_deliveries`), with the outbox's backoff and dead-lettering.
    PartnerWebhook = "partner.webhook", Partner;
}

impl std::fmt::Display for OutboxEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ApplicationEvent> for OutboxEvent {
    fn from(event: ApplicationEvent) -> Self {
        match event {
            ApplicationEvent::Submitted => Self::ApplicationSubmitted,
            ApplicationEvent::Pooled => Self::ApplicationPooled,
            ApplicationEvent::Approved => Self::ApplicationApproved,
            ApplicationEvent::Rejected => Self::ApplicationRejected,
            ApplicationEvent::Returned => Self::ApplicationReturned,
            ApplicationEvent::Resubmitted => Self::ApplicationResubmitted,
            ApplicationEvent::Forwarded => Self::ApplicationForwarded,
            ApplicationEvent::Assigned => Self::ApplicationAssigned,
            ApplicationEvent::Withdrawn => Self::ApplicationWithdrawn,
            ApplicationEvent::Expired => Self::ApplicationExpired,
        }
    }
}

impl From<DeadlineAlert> for OutboxEvent {
    fn from(alert: DeadlineAlert) -> Self {
        match alert {
            DeadlineAlert::DueSoon => Self::ApplicationDueSoon,
            DeadlineAlert::Overdue => Self::ApplicationOverdue,
        }
    }
}

impl From<MemberEvent> for OutboxEvent {
    fn from(event: MemberEvent) -> Self {
        match event {
            MemberEvent::Retained => Self::MemberRetained,
            MemberEvent::Reactivated => Self::MemberReactivated,
            MemberEvent::Withdrawn => Self::MemberWithdrawn,
            MemberEvent::Expelled => Self::MemberExpelled,
            MemberEvent::Deceased => Self::MemberDeceased,
            MemberEvent::TransferStarted => Self::MemberTransferStarted,
            MemberEvent::TransferFinished => Self::MemberTransferFinished,
            MemberEvent::TransferAborted => Self::MemberTransferAborted,
        }
    }
}

impl From<TransferEvent> for OutboxEvent {
    fn from(event: TransferEvent) -> Self {
        match event {
            TransferEvent::Requested => Self::TransferRequested,
            TransferEvent::Released => Self::TransferReleased,
            TransferEvent::AutoReleased => Self::TransferAutoReleased,
            TransferEvent::Accepted => Self::TransferAccepted,
            TransferEvent::CompletedIntoPool => Self::TransferCompletedIntoPool,
            TransferEvent::RejectedBySource => Self::TransferRejectedBySource,
            TransferEvent::RejectedByTarget => Self::TransferRejectedByTarget,
            TransferEvent::Cancelled => Self::TransferCancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips_through_its_stored_name() {
        for event in OutboxEvent::ALL {
            assert_eq!(OutboxEvent::parse(event.as_str()), Some(*event));
        }
        assert_eq!(OutboxEvent::parse("application.unknown"), None);
        assert_eq!(OutboxEvent::parse(" application.approved"), None);
    }

    #[test]
    fn the_names_are_the_family_and_the_domain_event() {
        for event in ApplicationEvent::ALL {
            let name = OutboxEvent::from(*event).as_str();
            assert_eq!(name, format!("application.{}", event.as_str()));
        }
        for alert in [DeadlineAlert::DueSoon, DeadlineAlert::Overdue] {
            let name = OutboxEvent::from(alert).as_str();
            assert_eq!(name, format!("application.{}", alert.as_str()));
        }
        for event in MemberEvent::ALL {
            let outbox = OutboxEvent::from(*event);
            assert_eq!(outbox.as_str(), format!("member.{}", event.as_str()));
            assert_eq!(outbox.family(), EventFamily::Member);
        }
        for event in TransferEvent::ALL {
            let outbox = OutboxEvent::from(*event);
            assert_eq!(outbox.as_str(), format!("transfer.{}", event.as_str()));
            assert_eq!(outbox.family(), EventFamily::Transfer);
        }
        // The domain events above, and `member.benefits_granted` (no member state change).
        // And `admin.reveals_exceeded` and `partner.webhook`.
        assert_eq!(OutboxEvent::ALL.len(), 31);
        assert_eq!(OutboxEvent::PartnerWebhook.family(), EventFamily::Partner);
        assert_eq!(
            OutboxEvent::AdminRevealsExceeded.family(),
            EventFamily::Admin
        );
        assert_eq!(
            OutboxEvent::MemberBenefitsGranted.family(),
            EventFamily::Member
        );
    }
}
