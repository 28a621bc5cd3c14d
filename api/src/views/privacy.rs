//! How "my data" (`GET /v1/me/data`) looks: everything held about the signed-in worker.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhijian_infra::store::privacy_consents::ConsentRow;
use zhijian_infra::usecases::privacy::{Cancelled, MyData};

use crate::error::ApiError;
use crate::views::application::{ApplicationView, UnionRef, application_view};
use crate::views::member::{MemberDetailView, member_detail_view};
use crate::views::station::{MemberBenefitView, member_benefit_view};
use crate::views::transfer::{TransferView, transfer_views};

/// The schema version of the export; a change that removes or renames a field bumps it.
pub const MY_DATA_SCHEMA: &str = "zhijian.my-data.v1";

/// `GET /v1/me/data`.
#[derive(Debug, Serialize)]
pub struct MyDataView {
    /// [`MY_DATA_SCHEMA`].
    pub schema: &'static str,
    /// When the export was made.
    pub exported_at: DateTime<Utc>,
    /// The account.
    pub account: MyAccountView,
    /// Applications, newest first, personal data in clear (`已删除` once erased), with their
    /// timelines.
    pub applications: Vec<ApplicationView>,
    /// The membership with its periods and history; absent for a worker who is not a member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership: Option<MemberDetailView>,
    /// Transfers of the membership, newest first.
    pub transfers: Vec<TransferView>,
    /// Benefits of the membership.
    pub benefits: Vec<MemberBenefitView>,
    /// Every time an admin saw the personal data of these applications in clear, newest first.
    pub personal_data_views: Vec<PersonalDataViewView>,
    /// The consents given, one per application (the privacy notice's version and when).
    pub consents: Vec<ConsentView>,
    /// The consent to the privacy notice by purpose (`GET /v1/me/privacy-consent`), when
    /// given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy_consent: Option<PrivacyConsentRecordView>,
    /// The consents to partner platforms (PIPL art. 23), live and withdrawn, newest first.
    pub partner_consents: Vec<crate::views::partner::PartnerConsentView>,
}

/// A consent to the privacy notice, as recorded.
#[derive(Debug, Serialize)]
pub struct PrivacyConsentRecordView {
    /// The notice version consented to.
    pub notice_version: String,
    /// The purposes agreed.
    pub purposes: Vec<String>,
    /// When this version was consented to.
    pub consented_at: DateTime<Utc>,
    /// When the purposes last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&ConsentRow> for PrivacyConsentRecordView {
    fn from(row: &ConsentRow) -> Self {
        Self {
            notice_version: row.notice_version.clone(),
            purposes: row.purposes.clone(),
            consented_at: row.consented_at,
            updated_at: row.updated_at,
        }
    }
}

/// One purpose of the catalogue and whether the worker agreed to it.
#[derive(Debug, Serialize)]
pub struct PurposeView {
    /// The purpose (`membership`, `referral_stats`, `partner_sharing`, `service_notices`).
    pub purpose: &'static str,
    /// What it means, in Chinese.
    pub label: &'static str,
    /// A condition of the service (cannot be withdrawn; cancel the account instead).
    pub required: bool,
    /// Agreed in the current consent.
    pub granted: bool,
}

/// `GET`/`PUT /v1/me/privacy-consent`.
#[derive(Debug, Serialize)]
pub struct PrivacyConsentView {
    /// The notice version in force.
    pub current_notice_version: String,
    /// `true`: the recorded consent names an older version; writes answer 403
    /// `consent_required` until the worker consents again.
    pub consent_required: bool,
    /// The recorded consent; absent before the first one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<PrivacyConsentRecordView>,
    /// The catalogue of purposes, each with whether it is agreed.
    pub purposes: Vec<PurposeView>,
}

/// Builds the consent view.
pub fn privacy_consent_view(current: &str, row: Option<&ConsentRow>) -> PrivacyConsentView {
    use zhijian_domain::privacy_consent::{Purpose, Standing};
    let standing = Standing::of(current, row.map(|r| r.notice_version.as_str()));
    let current_row = row.filter(|r| r.notice_version == current);
    PrivacyConsentView {
        current_notice_version: current.to_owned(),
        consent_required: standing.blocks_writes(),
        consent: row.map(PrivacyConsentRecordView::from),
        purposes: Purpose::ALL
            .into_iter()
            .map(|p| PurposeView {
                purpose: p.as_str(),
                label: p.label_zh(),
                required: p.is_required(),
                granted: current_row.is_some_and(|r| r.purposes.iter().any(|g| g == p.as_str())),
            })
            .collect(),
    }
}

/// A consent given with an application.
#[derive(Debug, Serialize)]
pub struct ConsentView {
    /// The application it was given with.
    pub application_id: uuid::Uuid,
    /// The version of the privacy notice consented to.
    pub privacy_notice_version: String,
    /// When.
    pub consented_at: DateTime<Utc>,
}

/// The account as held.
#[derive(Debug, Serialize)]
pub struct MyAccountView {
    /// Id.
    pub account_id: uuid::Uuid,
    /// The bound phone, in clear (it is the worker's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Whether the account signs in with WeChat (the openid itself is WeChat's identifier
    /// of the worker in this mini-program).
    pub wechat_linked: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// One time an admin saw the worker's personal data.
#[derive(Debug, Serialize)]
pub struct PersonalDataViewView {
    /// When.
    pub at: DateTime<Utc>,
    /// The application whose data was shown.
    pub application_id: String,
    /// The union of the admin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub union: Option<UnionRef>,
    /// The admin's role (`reviewer`, `manager`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Builds the export.
pub fn my_data_view(data: &MyData, now: DateTime<Utc>) -> Result<MyDataView, ApiError> {
    Ok(MyDataView {
        schema: MY_DATA_SCHEMA,
        exported_at: now,
        account: MyAccountView {
            account_id: data.account.id,
            phone: data.phone.clone(),
            wechat_linked: data.account.wechat_linked(),
            created_at: data.account.created_at,
        },
        applications: data
            .applications
            .iter()
            .map(|detail| application_view(detail, now))
            .collect::<Result<_, _>>()?,
        membership: data
            .membership
            .as_ref()
            .map(member_detail_view)
            .transpose()?,
        transfers: transfer_views(&data.transfers)?,
        benefits: data
            .benefits
            .iter()
            .map(|held| member_benefit_view(held, now))
            .collect::<Result<_, _>>()?,
        personal_data_views: data
            .views
            .iter()
            .map(|view| PersonalDataViewView {
                at: view.at,
                application_id: view.application_id.clone(),
                union: match (view.union_id, &view.union_name) {
                    (Some(id), Some(name)) => Some(UnionRef {
                        id,
                        name: name.clone(),
                    }),
                    _ => None,
                },
                role: view.role.clone(),
            })
            .collect(),
        consents: data
            .applications
            .iter()
            .map(|detail| ConsentView {
                application_id: detail.row.id,
                privacy_notice_version: detail.row.privacy_notice_version.clone(),
                consented_at: detail.row.consented_at,
            })
            .collect(),
        privacy_consent: data
            .privacy_consent
            .as_ref()
            .map(PrivacyConsentRecordView::from),
        partner_consents: data
            .partner_consents
            .iter()
            .map(|(consent, name)| crate::views::partner::consent_view(consent, name))
            .collect(),
    })
}

/// `POST /v1/me/cancel`.
#[derive(Debug, Serialize)]
pub struct CancelledView {
    /// Always `true`.
    pub cancelled: bool,
    /// Open applications withdrawn.
    pub applications_withdrawn: usize,
    /// Applications whose personal data was erased.
    pub applications_erased: usize,
    /// Member registry entries kept by the union, no longer linked to any account.
    pub member_entries_kept: usize,
}

impl From<Cancelled> for CancelledView {
    fn from(done: Cancelled) -> Self {
        Self {
            cancelled: true,
            applications_withdrawn: done.withdrawn,
            applications_erased: done.erased,
            member_entries_kept: done.members_unlinked,
        }
    }
}
