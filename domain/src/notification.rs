//! Notifications and same-day supervision (督办): how a provider's answer decides what happens
//! to a delivery, how long to wait before retrying, when a deadline deserves an alert, and the
//! same-day review rate.
//!
//! Pure rules: the caller brings `now`, the provider's answer and the randomness.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::ports::{SmsError, WeChatError};

/// What a provider's answer means for one recipient of one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The provider accepted the message.
    Delivered,
    /// This channel cannot reach the recipient (no subscription grant, bad openid, template
    /// refused): try the next channel (SMS) now.
    Fallback,
    /// A passing failure (provider down, 5xx, timeout, rate limit): try again later.
    Retry,
    /// The recipient cannot be reached this way, ever (invalid or blacklisted number): record
    /// it and stop.
    Permanent,
}

impl Verdict {
    /// A WeChat subscribe-message answer. `43101` (not subscribed, or the one-time grant is
    /// used up) and every permanent WeChat error fall back to SMS; an unavailable or busy
    /// WeChat is retried later rather than answered twice.
    pub fn of_wechat(result: &Result<i64, WeChatError>) -> Self {
        match result {
            Ok(_) => Self::Delivered,
            Err(WeChatError::Unavailable(_) | WeChatError::RateLimited) => Self::Retry,
            Err(
                WeChatError::NotSubscribed
                | WeChatError::InvalidCode
                | WeChatError::UserBlocked
                | WeChatError::Other { .. },
            ) => Self::Fallback,
        }
    }

    /// An SMS answer: a bad or blacklisted number is final, everything else passes.
    pub fn of_sms<T>(result: &Result<T, SmsError>) -> Self {
        match result {
            Ok(_) => Self::Delivered,
            Err(SmsError::InvalidNumber | SmsError::Blacklisted) => Self::Permanent,
            Err(SmsError::RateLimited | SmsError::Unavailable(_)) => Self::Retry,
        }
    }
}

/// How long to wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed:
/// `min(cap, base · 2^(attempt−1))`, stretched by up to a fifth by `jitter` (a random number
/// in `[0, 1)`), so that many deliveries failing together do not all come back at once.
pub fn retry_delay(attempt: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    let exponential = base.saturating_mul(1_u32 << doublings).min(cap);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    exponential.saturating_add(exponential.mul_f64(jitter / 5.0))
}

/// An alert about an application's review deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadlineAlert {
    /// Due within the warning period: remind the union's admins.
    DueSoon,
    /// Past due and still waiting: the union's admins and the parent union's admins (督办).
    Overdue,
}

impl DeadlineAlert {
    /// Stable name, as stored and as the outbox event suffix (`application.due_soon`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DueSoon => "due_soon",
            Self::Overdue => "overdue",
        }
    }

    /// Which alert an open application due at `due_at` deserves at `now`, warning `lead`
    /// before the deadline. Due exactly now is not yet overdue (see
    /// [`crate::deadline::is_overdue`]).
    pub fn at(due_at: DateTime<Utc>, now: DateTime<Utc>, lead: TimeDelta) -> Option<Self> {
        if crate::deadline::is_overdue(due_at, now) {
            Some(Self::Overdue)
        } else if due_at - now <= lead {
            Some(Self::DueSoon)
        } else {
            None
        }
    }
}

/// Whether a decision made at `decided_at` met the deadline `due_at` (no deadline: on time).
pub fn decided_on_time(decided_at: DateTime<Utc>, due_at: Option<DateTime<Utc>>) -> bool {
    due_at.is_none_or(|due| !crate::deadline::is_overdue(due, decided_at))
}

/// The same-day review rate (当天审核率): decisions made before their deadline over all
/// decisions; `None` when nothing was decided.
pub fn on_time_rate(decided: i64, on_time: i64) -> Option<f64> {
    (decided > 0).then(|| on_time.clamp(0, decided) as f64 / decided as f64)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, hour, minute, 0).unwrap()
    }

    #[test]
    fn an_unsubscribed_worker_falls_back_to_sms_and_a_down_wechat_is_retried() {
        assert_eq!(Verdict::of_wechat(&Ok(1)), Verdict::Delivered);
        assert_eq!(
            Verdict::of_wechat(&Err(WeChatError::NotSubscribed)),
            Verdict::Fallback
        );
        let bad_openid = WeChatError::Other {
            code: 40003,
            message: "invalid openid".into(),
        };
        assert_eq!(Verdict::of_wechat(&Err(bad_openid)), Verdict::Fallback);
        assert_eq!(
            Verdict::of_wechat(&Err(WeChatError::Unavailable("HTTP 503".into()))),
            Verdict::Retry
        );
        assert_eq!(
            Verdict::of_wechat(&Err(WeChatError::RateLimited)),
            Verdict::Retry
        );
    }

    #[test]
    fn a_bad_number_is_final_and_a_busy_provider_is_retried() {
        assert_eq!(Verdict::of_sms(&Ok(())), Verdict::Delivered);
        assert_eq!(
            Verdict::of_sms::<()>(&Err(SmsError::InvalidNumber)),
            Verdict::Permanent
        );
        assert_eq!(
            Verdict::of_sms::<()>(&Err(SmsError::Blacklisted)),
            Verdict::Permanent
        );
        assert_eq!(
            Verdict::of_sms::<()>(&Err(SmsError::RateLimited)),
            Verdict::Retry
        );
        assert_eq!(
            Verdict::of_sms::<()>(&Err(SmsError::Unavailable("timed out".into()))),
            Verdict::Retry
        );
    }

    #[test]
    fn the_retry_delay_doubles_up_to_the_cap_and_jitter_adds_at_most_a_fifth() {
        let base = Duration::from_secs(2);
        let cap = Duration::from_secs(60);
        let delays: Vec<u64> = (1..=7)
            .map(|n| retry_delay(n, base, cap, 0.0).as_secs())
            .collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(retry_delay(3, base, cap, 0.5), Duration::from_millis(8_800));
        assert!(retry_delay(3, base, cap, 0.999_999) < Duration::from_millis(9_600));
        assert_eq!(
            retry_delay(0, base, cap, 0.0),
            base,
            "attempt 0 is treated as the first"
        );
        assert_eq!(retry_delay(u32::MAX, base, cap, 0.0), cap, "no overflow");
        assert_eq!(retry_delay(1, base, cap, f64::NAN), base);
    }

    #[test]
    fn an_alert_is_due_within_the_lead_and_overdue_only_after_the_deadline() {
        let due = at(10, 0);
        let hour = TimeDelta::hours(1);
        assert_eq!(DeadlineAlert::at(due, at(8, 59), hour), None);
        assert_eq!(
            DeadlineAlert::at(due, at(9, 0), hour),
            Some(DeadlineAlert::DueSoon)
        );
        assert_eq!(
            DeadlineAlert::at(due, at(10, 0), hour),
            Some(DeadlineAlert::DueSoon),
            "due exactly now is not late"
        );
        assert_eq!(
            DeadlineAlert::at(due, at(10, 1), hour),
            Some(DeadlineAlert::Overdue)
        );
        assert_eq!(DeadlineAlert::Overdue.as_str(), "overdue");
    }

    #[test]
    fn the_same_day_rate_counts_decisions_before_the_deadline() {
        assert!(decided_on_time(at(9, 0), Some(at(10, 0))));
        assert!(decided_on_time(at(10, 0), Some(at(10, 0))));
        assert!(!decided_on_time(at(10, 1), Some(at(10, 0))));
        assert!(decided_on_time(at(10, 1), None));
        assert_eq!(on_time_rate(0, 0), None);
        assert_eq!(on_time_rate(4, 3), Some(0.75));
        assert_eq!(on_time_rate(2, 5), Some(1.0));
    }
}
