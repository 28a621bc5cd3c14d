//! The worker's side of the join flow: submit the real-name form, follow it, correct it,
//! withdraw it.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use zhijian_domain::application::{self as domain_application, ApplicationStatus};
use zhijian_domain::credit_code::CreditCode;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::{AccountId, ApplicationId};
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::phone::PhoneNumber;
use zhijian_domain::region::RegionCode;
use zhijian_domain::registry::{
    Education, EmploymentStatus, Ethnicity, HouseholdType, PoliticalStatus,
};
use zhijian_domain::resident_id::ResidentId;
use zhijian_infra::crypto::pii::PiiCipher;
use zhijian_infra::db::{self, StoreError};
use zhijian_infra::store::applications::{self, ApplicationRow, RegionProblem, SubmitFacts};
use zhijian_infra::store::idempotency::Idempotent;

use crate::auth::WorkerIdentity;
use crate::error::ApiError;
use crate::error::mapping::application_error;
use crate::json;
use crate::startup::AppState;
use crate::views::application::{
    ApplicationSummary, ApplicationView, Pii, application_view, summary,
};

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

/// The form, every field parsed into its domain type.
struct Form {
    name: String,
    resident_id: ResidentId,
    phone: PhoneNumber,
    ethnicity: Ethnicity,
    education: Education,
    political_status: PoliticalStatus,
    household_type: HouseholdType,
    household_region: Option<RegionCode>,
    employment_status: EmploymentStatus,
    facts: SubmitFacts,
    employer_name: String,
    platform: Option<String>,
    work_address: String,
    privacy_notice_version: String,
    referral_code: Option<String>,
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
    zhijian_domain::region::RegionCodeError,
    zhijian_domain::credit_code::CreditCodeError,
    zhijian_domain::vocab::UnknownValue
);

/// Checks a free-text field: trimmed, 1..=max characters, no control characters.
fn text(value: &str, field: &'static str, label: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid(
            ErrorCode::Required,
            format!("请填写{label}"),
            field,
        ));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidText,
            format!("{label}不能超过{max}个字，且不能包含控制字符"),
            field,
        ));
    }
    Ok(value.to_owned())
}

fn optional_text(
    value: Option<&str>,
    field: &'static str,
    label: &str,
    max: usize,
) -> Result<Option<String>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => text(v, field, label, max).map(Some),
        None => Ok(None),
    }
}

/// A person's name as on the ID card: 2–30 characters of Chinese, letters, `·` and spaces.
fn person_name(value: &str) -> Result<String, ApiError> {
    let name = value.trim();
    let count = name.chars().count();
    let allowed = |c: char| c.is_alphabetic() || c == '·' || c == '•' || c == ' ';
    if !(2..=30).contains(&count) || !name.chars().all(allowed) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidName,
            "请填写与身份证一致的姓名（2至30个字）",
            "name",
        ));
    }
    Ok(name.to_owned())
}

impl SubmitApplicationRequest {
    fn parse(&self, today: chrono::NaiveDate) -> Result<Form, ApiError> {
        let name = person_name(&self.name)?;
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
        let employer_name = text(&self.employer_name, "employer_name", "工作单位或平台", 100)?;
        let employer = self
            .employer_credit_code
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .map(CreditCode::parse)
            .transpose()
            .map_err(|e| invalid("employer_credit_code")(&e))?;
        let platform = optional_text(self.platform.as_deref(), "platform", "平台", 50)?;
        let work_region =
            RegionCode::parse(&self.work_region).map_err(|e| invalid("work_region")(&e))?;
        let work_address = text(&self.work_address, "work_address", "工作地址", 200)?;
        let privacy_notice_version = text(
            &self.consent.privacy_notice_version,
            "consent.privacy_notice_version",
            "隐私政策版本",
            32,
        )?;
        if !self.consent.sensitive_data {
            return Err(ApiError::invalid(
                ErrorCode::SensitiveDataConsentRequired,
                "入会需要处理您的身份证号码等敏感个人信息，请阅读并单独同意后再提交",
                "consent.sensitive_data",
            ));
        }
        let referral_code =
            optional_text(self.referral_code.as_deref(), "referral_code", "推荐码", 32)?;
        Ok(Form {
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

/// Builds the row to store: personal data encrypted, the person keyed by a blind index.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of a new row come from four places"
)]
fn build_row(
    form: &Form,
    pii: &PiiCipher,
    id: uuid::Uuid,
    account: AccountId,
    status: ApplicationStatus,
    decision: &zhijian_domain::routing::RoutingDecision,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<ApplicationRow, ApiError> {
    let seal = |value: &str, context: &str| {
        pii.encrypt(value, context)
            .map(|s| s.to_string())
            .map_err(ApiError::internal)
    };
    Ok(ApplicationRow {
        id,
        account_id: account.as_uuid(),
        person_index: pii.blind_index("resident_id", form.resident_id.expose()),
        status: status.as_str().to_owned(),
        version: domain_application::Application::INITIAL_VERSION,
        union_id: decision.union.get(),
        routing_rule: decision.rule.as_str().to_owned(),
        routing_explanation: decision.explanation.clone(),
        due_at: Some(due_at),
        submitted_at: now,
        decided_at: None,
        returned_at: None,
        name: form.name.clone(),
        resident_id_cipher: seal(form.resident_id.expose(), "resident_id")?,
        phone_cipher: seal(form.phone.expose(), "phone")?,
        phone_index: pii.blind_index("phone", form.phone.expose()),
        gender: form.resident_id.gender().as_str().to_owned(),
        birth_date: form.resident_id.birth_date(),
        ethnicity: form.ethnicity.as_str().to_owned(),
        education: form.education.as_str().to_owned(),
        political_status: form.political_status.as_str().to_owned(),
        household_type: form.household_type.as_str().to_owned(),
        household_region: form
            .household_region
            .as_ref()
            .map(|r| r.as_str().to_owned()),
        employment_status: form.employment_status.as_str().to_owned(),
        occupation: form.facts.occupation.as_str().to_owned(),
        employer_name: form.employer_name.clone(),
        employer_credit_code: form.facts.employer.as_ref().map(|c| c.as_str().to_owned()),
        platform: form.platform.clone(),
        work_region: form.facts.work_region.as_str().to_owned(),
        work_address: form.work_address.clone(),
        privacy_notice_version: form.privacy_notice_version.clone(),
        consented_at: now,
        channel: "mini_program".to_owned(),
        referral_code: form.referral_code.clone(),
        return_fields: Vec::new(),
        return_note: None,
        reject_code: None,
        reject_note: None,
        member_id: None,
        created_at: now,
        updated_at: now,
    })
}

/// Checks the regions named in the form against the regions table.
fn check_regions(
    conn: &mut zhijian_infra::db::Connection,
    state: &AppState,
    form: &Form,
) -> Result<Result<(), ApiError>, StoreError> {
    match applications::check_work_region(conn, &state.reference, &form.facts.work_region)? {
        Ok(()) => {}
        Err(RegionProblem::TooCoarse) => {
            return Ok(Err(ApiError::invalid(
                ErrorCode::WorkRegionTooCoarse,
                "工作地点请选择到乡镇（街道）或村（社区）",
                "work_region",
            )));
        }
        Err(RegionProblem::Unknown) => {
            return Ok(Err(ApiError::invalid(
                ErrorCode::UnknownRegion,
                "所选工作地点不存在",
                "work_region",
            )));
        }
    }
    if let Some(region) = &form.household_region
        && !state.reference.region_exists(conn, region)?
    {
        return Ok(Err(ApiError::invalid(
            ErrorCode::UnknownRegion,
            "所选户籍地不存在",
            "household_region",
        )));
    }
    Ok(Ok(()))
}

/// Loads what the full view needs and renders it.
fn render(
    conn: &mut zhijian_infra::db::Connection,
    state: &AppState,
    row: &ApplicationRow,
    now: DateTime<Utc>,
) -> Result<ApplicationView, ApiError> {
    let id = ApplicationId::from_uuid(row.id);
    let union =
        zhijian_infra::store::unions::find(conn, zhijian_domain::ids::UnionId::new(row.union_id))?
            .ok_or_else(|| StoreError::Internal(format!("application {} has no union", row.id)))?;
    let timeline = applications::timeline(conn, id)?;
    let number = match row.member_id {
        Some(member) => {
            zhijian_infra::store::members::find(conn, member)?.map(|(m, _)| m.membership_number)
        }
        None => None,
    };
    application_view(row, &union, &timeline, number, &state.pii, Pii::Masked, now)
}

/// `POST /v1/applications`
pub async fn submit(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: SubmitApplicationRequest = json::parse_body(&req, &body)?;
    let key = json::idempotency_key(&req, format!("account:{}", worker.account_id), &body)?;
    // Stored to the microsecond: the answer shows the instant as it will be read back.
    let now = state.clock.now().trunc_subsecs(6);
    let form = request.parse(now.date_naive())?;
    let app_state = state.clone();
    let outcome = db::run(&state.pool, move |conn| {
        if let Err(e) = check_regions(conn, &app_state, &form)? {
            return Ok(Err(e));
        }
        let routed = applications::route_and_schedule(conn, &app_state.reference, &form.facts, now)
            .map_err(application_error)?;
        let submitted = domain_application::submit(&routed.decision, routed.due_at);
        let row = match build_row(
            &form,
            &app_state.pii,
            uuid::Uuid::now_v7(),
            worker.account_id,
            submitted.status,
            &routed.decision,
            routed.due_at,
            now,
        ) {
            Ok(row) => row,
            Err(e) => return Ok(Err(e)),
        };
        // The answer is rendered from what is about to be written, and stored with it.
        let events = applications::submitted_events(&row, submitted.steps());
        let timeline: Vec<_> = events
            .iter()
            .map(|event| (event.clone(), routed.union.name.clone()))
            .collect();
        let view = match application_view(
            &row,
            &routed.union,
            &timeline,
            None,
            &app_state.pii,
            Pii::Masked,
            now,
        ) {
            Ok(view) => view,
            Err(e) => return Ok(Err(e)),
        };
        let answer = (
            201,
            serde_json::to_value(view).map_err(|e| StoreError::Internal(e.to_string()))?,
        );
        let result = match applications::submit(conn, &row, &events, key.as_ref(), &answer)
            .map_err(application_error)?
        {
            Ok(Idempotent::Fresh(())) => {
                log::info!(
                    "application submitted: application_id={} status={} union_id={} rule={}",
                    row.id,
                    row.status,
                    row.union_id,
                    row.routing_rule
                );
                Ok(answer)
            }
            Ok(Idempotent::Replay { status, body }) => Ok((status, body)),
            Err(reused) => Err(reused),
        };
        Ok::<_, ApiError>(Ok(result))
    })
    .await??;
    json::idempotent_response(outcome)
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
    let now = state.clock.now();
    let rows = db::run(&state.pool, move |conn| {
        applications::list_for_account(conn, worker.account_id)
    })
    .await?;
    let items = rows
        .iter()
        .map(|(row, union)| summary(row, union, now))
        .collect();
    Ok(HttpResponse::Ok().json(MyApplications { items }))
}

fn parse_id(path: &str) -> Result<ApplicationId, ApiError> {
    ApplicationId::parse(path)
        .map_err(|_| ApiError::invalid(ErrorCode::InvalidApplicationId, "申请编号格式不正确", "id"))
}

/// `GET /v1/applications/{id}`
pub async fn get(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let now = state.clock.now();
    let app_state = state.clone();
    let view = db::run(&state.pool, move |conn| {
        let Some((row, _)) = applications::find_with_union(conn, id)? else {
            return Ok(Err(ApiError::not_found()));
        };
        if row.account_id != worker.account_id.as_uuid() {
            return Ok(Err(ApiError::not_found()));
        }
        Ok::<_, ApiError>(render(conn, &app_state, &row, now))
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
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
    let id = parse_id(&path)?;
    let request: SubmitApplicationRequest = json::parse_body(&req, &body)?;
    let now = state.clock.now();
    let form = request.parse(now.date_naive())?;
    let app_state = state.clone();
    let view = db::run(&state.pool, move |conn| {
        if let Err(e) = check_regions(conn, &app_state, &form)? {
            return Ok(Err(e));
        }
        let routed = applications::route_and_schedule(conn, &app_state.reference, &form.facts, now)
            .map_err(application_error)?;
        let status = domain_application::submit(&routed.decision, routed.due_at).status;
        let corrected = match build_row(
            &form,
            &app_state.pii,
            id.as_uuid(),
            worker.account_id,
            status,
            &routed.decision,
            routed.due_at,
            now,
        ) {
            Ok(row) => row,
            Err(e) => return Ok(Err(e)),
        };
        let updated = applications::resubmit(conn, id, worker.account_id, &corrected, now)
            .map_err(application_error)?;
        Ok::<_, ApiError>(render(conn, &app_state, &updated, now))
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /v1/applications/{id}/withdraw`
pub async fn withdraw(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let now = state.clock.now();
    let app_state = state.clone();
    let view = db::run(&state.pool, move |conn| {
        let updated =
            applications::withdraw(conn, id, worker.account_id, now).map_err(application_error)?;
        render(conn, &app_state, &updated, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
