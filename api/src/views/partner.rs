//! How partner clients, consents, consent requests and partner-submitted applications look.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhijian_infra::store::applications::ApplicationRow;
use zhijian_infra::store::partners::{ClientRow, ConsentRequestRow, ConsentRow};
use zhijian_infra::store::unions::UnionRow;

use crate::views::application::UnionRef;

/// A partner client as admins see it (never its secret or its hashes).
#[derive(Debug, Serialize)]
pub struct PartnerClientView {
    /// The `client_id`.
    pub id: uuid::Uuid,
    /// Name.
    pub name: String,
    /// Contact.
    pub contact: String,
    /// Scopes it may be granted.
    pub scopes: Vec<String>,
    /// Registered at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
    /// Disabled since.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Until when the previous secret is still accepted, during a rotation's overlap.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Version, to send back with a change.
    pub version: i32,
}

impl From<&ClientRow> for PartnerClientView {
    fn from(row: &ClientRow) -> Self {
        Self {
            id: row.id,
            name: row.name.clone(),
            contact: row.contact.clone(),
            scopes: row.scopes.clone(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            disabled_at: row.disabled_at,
            previous_secret_expires_at: row.previous_secret_expires_at,
            version: row.version,
        }
    }
}

/// A client with its secret, shown once (creation, rotation).
#[derive(Serialize)]
pub struct PartnerClientSecretView {
    /// The client.
    pub client: PartnerClientView,
    /// The `client_id` (the client's id).
    pub client_id: uuid::Uuid,
    /// The secret: shown this once, stored only as a keyed hash.
    pub client_secret: String,
}

/// The partner a consent names.
#[derive(Debug, Serialize)]
pub struct PartnerRef {
    /// The client id.
    pub id: uuid::Uuid,
    /// Its name.
    pub name: String,
}

/// A worker's consent to a partner.
#[derive(Debug, Serialize)]
pub struct PartnerConsentView {
    /// Id.
    pub id: uuid::Uuid,
    /// The partner.
    pub partner: PartnerRef,
    /// What for.
    pub purposes: Vec<String>,
    /// The notice version read.
    pub notice_version: String,
    /// Granted at.
    pub granted_at: DateTime<Utc>,
    /// Withdrawn at.
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Whether it is in force.
    pub live: bool,
}

/// The view of a consent and its partner's name.
pub fn consent_view(row: &ConsentRow, partner_name: &str) -> PartnerConsentView {
    PartnerConsentView {
        id: row.id,
        partner: PartnerRef {
            id: row.client_id,
            name: partner_name.to_owned(),
        },
        purposes: row.purposes.clone(),
        notice_version: row.notice_version.clone(),
        granted_at: row.granted_at,
        withdrawn_at: row.withdrawn_at,
        live: row.withdrawn_at.is_none(),
    }
}

/// A consent request: the code and the mini-program link the partner's app opens.
#[derive(Debug, Serialize)]
pub struct ConsentRequestView {
    /// The code (the mini-program `scene`).
    pub code: String,
    /// The mini-program page with the code.
    pub path: String,
    /// What is asked for.
    pub purposes: Vec<String>,
    /// The partner's user it is for.
    pub partner_user_id: String,
    /// Unusable from.
    pub expires_at: DateTime<Utc>,
}

/// The view of a request, with the page `consent_page`.
pub fn consent_request_view(row: &ConsentRequestRow, consent_page: &str) -> ConsentRequestView {
    ConsentRequestView {
        code: row.code.clone(),
        path: format!("{consent_page}?scene={}", row.code),
        purposes: row.purposes.clone(),
        partner_user_id: row.partner_user_id.clone(),
        expires_at: row.expires_at,
    }
}

/// An application as its submitting partner sees it: no personal data.
#[derive(Debug, Serialize)]
pub struct PartnerApplicationView {
    /// Id.
    pub id: uuid::Uuid,
    /// Status.
    pub status: String,
    /// The union handling it.
    pub union: UnionRef,
    /// Submitted at.
    pub submitted_at: DateTime<Utc>,
    /// The review deadline, while under review.
    pub due_at: Option<DateTime<Utc>>,
    /// Decided at.
    pub decided_at: Option<DateTime<Utc>>,
}

/// The partner's view of an application.
pub fn partner_application_view(row: &ApplicationRow, union: &UnionRow) -> PartnerApplicationView {
    PartnerApplicationView {
        id: row.id,
        status: row.status.as_str().to_owned(),
        union: UnionRef::from(union),
        submitted_at: row.submitted_at,
        due_at: row.due_at,
        decided_at: row.decided_at,
    }
}

/// `POST /v1/partner/members/verify` answer: member or not, union, status, member since.
#[derive(Debug, Serialize)]
pub struct MemberVerificationView {
    /// Whether the person is a current member.
    pub member: bool,
    /// The member's union.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub union_name: Option<String>,
    /// Membership status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Joined on (Beijing date).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_since: Option<chrono::NaiveDate>,
}
