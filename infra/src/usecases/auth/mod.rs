//! Signing in and out: workers by WeChat or by SMS code, admins by password; refreshing a
//! token pair; binding a verified phone; the signed-in worker's account.
//!
//! A sign-in answers a [`SignedIn`]: the Redis session, its refresh token (secret) and the
//! instant the pair is issued at; the API signs the access token for it. Every use case here
//! takes an [`AuthContext`]: the [`Services`] plus Redis and the session and SMS policies.

pub mod admin_login;
pub mod bind_phone;
pub mod logout;
pub mod refresh;
pub mod second_factor;
pub mod sms;
pub mod wechat_login;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::redis::sessions::{AdminScope, Rotated, Session, SessionKind, Sessions};
use crate::redis::sms_codes::{SmsPolicyConfig, VerificationCodes};
use crate::redis::{RedisStore, RedisUnavailable};
use crate::usecases::Services;

pub use admin_login::{AdminLogin, AdminLoginError, AdminSignedIn, LoginChallenge, admin_login};
pub use bind_phone::{
    AccountProfile, BindPhoneError, MeError, bind_sms_phone, bind_wechat_phone, me,
};
pub use logout::{admin_logout, live_session, logout};
pub use refresh::refresh;
pub use second_factor::{
    ConfirmEnrolmentError, Enrolment, RemoveSecondFactorError, SecondStepError, SecondStepProof,
    StartEnrolmentError, complete_admin_login, confirm_enrolment, remove_second_factor,
    start_enrolment,
};
pub use sms::{PhoneLoginError, SendCodeError, phone_login, send_sms_code};
pub use wechat_login::{WeChatLoginError, wechat_login};

/// How sessions live: `auth.refresh_ttl_secs` and `auth.refresh_reuse_grace_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Lifetime of a sign-in (its refresh-token family), from sign-in.
    pub ttl: Duration,
    /// How long a spent refresh token may come back and get its first answer again.
    pub reuse_grace: Duration,
}

/// What the sign-in use cases reach.
#[derive(Clone, Copy)]
pub struct AuthContext<'a> {
    /// Database, cipher, clock.
    pub services: &'a Services,
    /// Sessions, verification codes and their counters.
    pub redis: &'a RedisStore,
    /// Session lifetimes.
    pub sessions: SessionPolicy,
    /// Verification codes and their sending caps.
    pub sms_policy: &'a SmsPolicyConfig,
}

impl<'a> AuthContext<'a> {
    /// The sessions under this policy.
    pub fn sessions(&self) -> Sessions<'a> {
        Sessions::new(self.redis, self.sessions.ttl).with_reuse_grace(self.sessions.reuse_grace)
    }

    pub(crate) fn codes(&self) -> VerificationCodes<'a> {
        VerificationCodes::new(self.redis, &self.services.pii, self.sms_policy)
    }
}

/// A sign-in or a refresh: the session, its refresh token (secret: give it to the client
/// once, never log it) and when the pair is issued (the access token's `iat`).
pub struct SignedIn {
    /// The live session.
    pub session: Session,
    /// The refresh token to hand out.
    pub refresh_token: String,
    /// The instant the pair is issued at.
    pub issued_at: DateTime<Utc>,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("session", &self.session)
            .field("refresh_token", &"<redacted>")
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

impl From<Rotated> for SignedIn {
    fn from(rotated: Rotated) -> Self {
        Self {
            session: rotated.session,
            refresh_token: rotated.refresh_token,
            issued_at: rotated.issued_at,
        }
    }
}

/// Starts a session for `subject` at the context's `now`.
async fn start_session(
    ctx: &AuthContext<'_>,
    kind: SessionKind,
    subject: String,
    admin: Option<AdminScope>,
) -> Result<SignedIn, RedisUnavailable> {
    let issued_at = ctx.services.now();
    let started = ctx.sessions().start(kind, &subject, admin.as_ref()).await?;
    Ok(SignedIn {
        session: Session {
            id: started.id,
            kind,
            subject,
            admin,
        },
        refresh_token: started.refresh_token,
        issued_at,
    })
}
