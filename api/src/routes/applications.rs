//! The worker's side of the join flow: submit the real-name form, follow it, correct it,
//! withdraw it.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use zhijian_domain::calendar::local_date;
use zhijian_domain::credit_code::CreditCode;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::phone::PhoneNumber;
use zhijian_domain::referral::ReferralCode;
use zhijian_domain::region::RegionCode;
use zhijian_domain::registry::{
    Education, EmploymentStatus, Ethnicity, HouseholdType, PoliticalStatus,
};
use zhijian_domain::resident_id::ResidentId;
use zhijian_domain::text::{EmployerName, PersonName, Platform, PrivacyNoticeVersion, WorkAddress};
use zhijian_infra::store::applications::SubmitFacts;
use zhijian_infra::store::idempotency::WorkerWrite;
use zhijian_infra::usecases::applications::{self as usecase, Submission};

use crate::auth::WorkerIdentity;
use crate::error::ApiError;
use crate::error::mapping::{correct_error, read_error, submit_error, withdrawal_error};
use crate::json;
use crate::startup::AppState;
use crate::views::application::{ApplicationSummary, application_view, submitted_body, summary};

/// Consent to the privacy notice, and the separate consent to process sensitive personal data
/// (PIPL art. 29).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// Version of the privacy notice the worker read.
    pub privacy_notice_version: String,
    /// The separate consent for the resident ID number; must be `true`.
    pub sensitive_data: bool,
}

/// The real-name form (`POST /v1/applications`, `PUT /v1/applications/{id}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitApplicationRequest {
    pub name: String,
    pub resident_id: String,
    pub phone: String,
    pub ethnicity: String,
    pub education: String,
    pub political_status: String,
    pub household_type: String,
    #[serde(default)]
    pub household_region: Option<String>,
    pub employment_status: String,
    pub occupation: String,
    pub employer_name: String,
    #[serde(default)]
    pub employer_credit_code: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
    pub work_region: String,
    pub work_address: String,
    pub consent: ConsentRequest,
    #[serde(default)]
    pub referral_code: Option<String>,
}

fn invalid(field: &'static str) -> impl Fn(&dyn ErrorWithCode) -> ApiError {
    move |e| ApiError::invalid(e.code(), e.message(), field)
}

/// A domain error the form can report.
trait ErrorWithCode {
    fn code(&self) -> ErrorCode;
    fn message(&self) -> String;
}

macro_rules! error_with_code {
    ($($t:ty),+) => {$(
        impl ErrorWithCode for $t {
            fn code(&self) -> ErrorCode { <$t>::code(self) }
            fn message(&self) -> String { self.to_string() }
        }
    )+};
}

error_with_code!(
    zhijian_domain::resident_id::ResidentIdError,
    zhijian_domain::phone::PhoneNumberError,
    zhijian_domain::referral::ReferralCodeError,
    zhijian_domain::region::RegionCodeError,
    zhijian_domain::credit_code::CreditCodeError,
    zhijian_domain::vocab::UnknownValue,
    zhijian_domain::text::PersonNameError,
    zhijian_domain::text::TextError
);

impl SubmitApplicationRequest {
    /// Parses the form; `today` is the Beijing date (an applicant turns 16 on a Beijing day).
    pub(crate) fn parse(&self, today: chrono::NaiveDate) -> Result<Submission, ApiError> {
        let name = PersonName::parse(&self.name).map_err(|e| invalid("name")(&e))?;
        let resident_id = ResidentId::parse_for_applicant(&self.resident_id, today)
            .map_err(|e| invalid("resident_id")(&e))?;
        let phone = PhoneNumber::parse(&self.phone).map_err(|e| invalid("phone")(&e))?;
        let ethnicity = Ethnicity::parse(&self.ethnicity).map_err(|e| invalid("ethnicity")(&e))?;
        let education = Education::parse(&self.education).map_err(|e| invalid("education")(&e))?;
        let political_status = PoliticalStatus::parse(&self.political_status)
            .map_err(|e| invalid("political_status")(&e))?;
        let household_type = HouseholdType::parse(&self.household_type)
            .map_err(|e| invalid("household_type")(&e))?;
        let household_region = self
            .household_region
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .map(RegionCode::parse)
            .transpose()
            .map_err(|e| invalid("household_region")(&e))?;
        let employment_status = EmploymentStatus::parse(&self.employment_status)
            .map_err(|e| invalid("employment_status")(&e))?;
        let occupation =
            OccupationGroup::parse(&self.occupation).map_err(|e| invalid("occupation")(&e))?;
        let employer_name =
            EmployerName::parse(&self.employer_name).map_err(|e| invalid("employer_name")(&e))?;
        let employer = self
            .employer_credit_code
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .map(CreditCode::parse)
            .transpose()
            .map_err(|e| invalid("employer_credit_code")(&e))?;
        let platform = Platform::parse_optional(self.platform.as_deref())
            .map_err(|e| invalid("platform")(&e))?;
        let work_region =
            RegionCode::parse(&self.work_region).map_err(|e| invalid("work_region")(&e))?;
        let work_address =
            WorkAddress::parse(&self.work_address).map_err(|e| invalid("work_address")(&e))?;
        let privacy_notice_version =
            PrivacyNoticeVersion::parse(&self.consent.privacy_notice_version)
                .map_err(|e| invalid("consent.privacy_notice_version")(&e))?;
        if !self.consent.sensitive_data {
            return Err(ApiError::invalid(
                ErrorCode::SensitiveDataConsentRequired,
                "入会需要处理您的身份证号码等敏感个人信息，请阅读并单独同意后再提交",
                "consent.sensitive_data",
            ));
        }
        let referral_code = ReferralCode::parse_optional(self.referral_code.as_deref())
            .map_err(|e| invalid("referral_code")(&e))?;
        Ok(Submission {
            name,
            resident_id,
            phone,
            ethnicity,
            education,
            political_status,
            household_type,
            household_region,
            employment_status,
            facts: SubmitFacts {
                work_region,
                occupation,
                employer,
            },
            employer_name,
            platform,
            work_address,
            privacy_notice_version,
            referral_code,
        })
    }
}

/// `POST /v1/applications`
pub async fn submit(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: SubmitApplicationRequest = json::parse_body(&req, &body)?;
    let key = json::idempotency_key(
        &req,
        WorkerWrite::Application.scope(worker.account_id),
        &body,
    )?;
    let submission = request.parse(local_date(state.services.now()))?;
    let consented = submission.privacy_notice_version.as_str().to_owned();
    // The answer is rendered from what is about to be written, and stored with it.
    let render =
        |detail: &usecase::ApplicationDetail| submitted_body(detail, detail.row.submitted_at);
    let submitted =
        usecase::submit_application(&state.services, worker.account_id, key, submission, render)
            .await
            .map_err(submit_error)?;
    // The form's consent block is the account's first consent to the notice (when it has
    // none yet and names the current version).
    zhijian_infra::usecases::privacy::consent::first_consent_with_application(
        &state.services,
        worker.account_id,
        state.settings.privacy.notice_version.clone(),
        consented,
    )
    .await?;
    json::idempotent_response(Ok(submitted.into_answer()))
}

/// Body of `GET /v1/applications/mine`.
#[derive(Debug, Serialize)]
pub struct MyApplications {
    /// Newest first.
    pub items: Vec<ApplicationSummary>,
}

/// `GET /v1/applications/mine`
pub async fn mine(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
) -> Result<HttpResponse, ApiError> {
    let now = state.services.now();
    let rows = usecase::my_applications(&state.services, worker.account_id).await?;
    let items = rows
        .iter()
        .map(|(row, union)| summary(row, union, now))
        .collect();
    Ok(HttpResponse::Ok().json(MyApplications { items }))
}

/// `GET /v1/applications/{id}`
pub async fn get(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = json::application_id(&path)?;
    let detail = usecase::my_application(&state.services, worker.account_id, id)
        .await
        .map_err(read_error)?;
    Ok(HttpResponse::Ok().json(application_view(&detail, state.services.now())?))
}

/// `PUT /v1/applications/{id}`: corrects a returned application and sends it back for review,
/// routed afresh (the corrected facts may point to another union).
pub async fn correct(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = json::application_id(&path)?;
    let request: SubmitApplicationRequest = json::parse_body(&req, &body)?;
    let submission = request.parse(local_date(state.services.now()))?;
    let detail = usecase::correct_application(&state.services, worker.account_id, id, submission)
        .await
        .map_err(correct_error)?;
    Ok(HttpResponse::Ok().json(application_view(&detail, state.services.now())?))
}

/// `POST /v1/applications/{id}/withdraw`
pub async fn withdraw(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = json::application_id(&path)?;
    let detail = usecase::withdraw_application(&state.services, worker.account_id, id)
        .await
        .map_err(withdrawal_error)?;
    Ok(HttpResponse::Ok().json(application_view(&detail, state.services.now())?))
}
