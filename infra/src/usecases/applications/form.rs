//! The real-name form as the use cases take it, its checks against the stored regions and
//! union tree, and the row it becomes (personal data encrypted).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use zhijian_domain::application::{Application, ApplicationStatus};
use zhijian_domain::ids::AccountId;
use zhijian_domain::phone::PhoneNumber;
use zhijian_domain::referral::{ReferralCode, Referrer};
use zhijian_domain::region::RegionCode;
use zhijian_domain::registry::{
    Education, EmploymentStatus, Ethnicity, HouseholdType, PoliticalStatus,
};
use zhijian_domain::resident_id::ResidentId;
use zhijian_domain::routing::{RoutingDecision, RoutingFacts};
use zhijian_domain::text::{EmployerName, PersonName, Platform, PrivacyNoticeVersion, WorkAddress};

use super::errors::FormRefusal;
use crate::crypto::pii::PiiCipher;
use crate::db::StoreError;
use crate::store::applications::{self, ApplicationRow, SubmitFacts};
use crate::store::reference_cache::ReferenceCache;
use crate::store::unions::UnionRow;

/// The real-name form, every field parsed into its domain type (`POST /v1/applications`,
/// `PUT /v1/applications/{id}`).
#[derive(Debug, Clone)]
pub struct Submission {
    /// Name as on the ID card.
    pub name: PersonName,
    /// Resident ID (gender and birth date derive from it).
    pub resident_id: ResidentId,
    /// Mobile phone.
    pub phone: PhoneNumber,
    /// Ethnic group.
    pub ethnicity: Ethnicity,
    /// Education.
    pub education: Education,
    /// Political status.
    pub political_status: PoliticalStatus,
    /// Household registration type.
    pub household_type: HouseholdType,
    /// Household registration region, when given.
    pub household_region: Option<RegionCode>,
    /// Employment status.
    pub employment_status: EmploymentStatus,
    /// Work region, occupation and employer's credit code: what routing reads.
    pub facts: SubmitFacts,
    /// Employer or platform operator.
    pub employer_name: EmployerName,
    /// Platform worked through.
    pub platform: Option<Platform>,
    /// Work address.
    pub work_address: WorkAddress,
    /// The privacy notice version consented to (the separate consent is checked by the API).
    pub privacy_notice_version: PrivacyNoticeVersion,
    /// Referral code.
    pub referral_code: Option<ReferralCode>,
}

/// Where a form goes and by when it must be decided.
pub(crate) struct Routed {
    /// The routing decision, with its explanation.
    pub decision: RoutingDecision,
    /// The chosen union.
    pub union: UnionRow,
    /// The review deadline.
    pub due_at: DateTime<Utc>,
}

/// Checks the regions named in the form, routes it over the stored union tree and computes
/// the deadline under the chosen union's review hours and the working-day calendar.
pub(crate) fn check_and_route(
    conn: &mut PgConnection,
    cache: &ReferenceCache,
    form: &Submission,
    now: DateTime<Utc>,
) -> Result<Result<Routed, FormRefusal>, StoreError> {
    match applications::check_work_region(conn, cache, &form.facts.work_region)? {
        Ok(()) => {}
        Err(problem) => return Ok(Err(FormRefusal::WorkRegion(problem))),
    }
    if let Some(region) = &form.household_region
        && !cache.region_exists(conn, region)?
    {
        return Ok(Err(FormRefusal::UnknownHouseholdRegion));
    }
    let routed = crate::store::unions::route(
        conn,
        &RoutingFacts {
            work_region: form.facts.work_region.clone(),
            occupation: form.facts.occupation,
            employer_credit_code: form.facts.employer.clone(),
        },
    )?;
    let (decision, union) = match routed {
        Ok(routed) => routed,
        Err(e) => return Ok(Err(FormRefusal::Routing(e))),
    };
    let calendar = cache.calendar(conn)?;
    let due_at = zhijian_domain::deadline::due_at(now, &calendar, &union.review_hours()?);
    Ok(Ok(Routed {
        decision,
        union,
        due_at,
    }))
}

/// The member whose referral code the form carries (`None` when it carries none), refused
/// when no member holds it, when its holder is no longer a member, or when it is the
/// applicant's own — the same person (blind index of the resident ID) as the code's member
/// record, even a record the applicant left before applying again.
pub(crate) fn resolve_referrer(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    form: &Submission,
) -> Result<Result<Option<uuid::Uuid>, FormRefusal>, StoreError> {
    let Some(code) = &form.referral_code else {
        return Ok(Ok(None));
    };
    let found = crate::store::referrals::find_referrer(conn, code)?;
    let applicant = person_indexes(pii, &form.resident_id);
    let referrer = found.as_ref().map(|r| Referrer {
        status: r.status,
        is_applicant: applicant.contains(&r.person_index),
    });
    Ok(zhijian_domain::referral::accept(referrer)
        .map(|()| found.map(|r| r.id))
        .map_err(FormRefusal::Referral))
}

/// Builds the row to store: personal data encrypted, the person keyed by a blind index, the
/// referrer as [`resolve_referrer`] found them.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one row, each named"
)]
pub(crate) fn build_row(
    form: &Submission,
    pii: &PiiCipher,
    id: uuid::Uuid,
    account: AccountId,
    status: ApplicationStatus,
    routed: &Routed,
    referrer: Option<uuid::Uuid>,
    now: DateTime<Utc>,
) -> Result<ApplicationRow, StoreError> {
    let seal = |value: &str, context: &str| {
        pii.encrypt(value, context)
            .map(|s| s.to_string())
            .map_err(|e| StoreError::broken(format!("encrypting {context}: {e}")))
    };
    Ok(ApplicationRow {
        id,
        account_id: account.as_uuid(),
        person_index: person_index(pii, &form.resident_id),
        status,
        version: Application::INITIAL_VERSION,
        union_id: routed.decision.union.get(),
        routing_rule: routed.decision.rule,
        routing_explanation: routed.decision.explanation.clone(),
        due_at: Some(routed.due_at),
        submitted_at: now,
        decided_at: None,
        returned_at: None,
        name: form.name.as_str().to_owned(),
        resident_id_cipher: seal(form.resident_id.expose(), "resident_id")?,
        phone_cipher: seal(form.phone.expose(), "phone")?,
        phone_index: pii.blind_index("phone", form.phone.expose()),
        gender: form.resident_id.gender(),
        birth_date: form.resident_id.birth_date(),
        ethnicity: form.ethnicity,
        education: form.education,
        political_status: form.political_status,
        household_type: form.household_type,
        household_region: form
            .household_region
            .as_ref()
            .map(|r| r.as_str().to_owned()),
        employment_status: form.employment_status,
        occupation: form.facts.occupation,
        employer_name: form.employer_name.as_str().to_owned(),
        employer_credit_code: form.facts.employer.as_ref().map(|c| c.as_str().to_owned()),
        platform: form.platform.as_ref().map(|p| p.as_str().to_owned()),
        work_region: form.facts.work_region.as_str().to_owned(),
        work_address: form.work_address.as_str().to_owned(),
        privacy_notice_version: form.privacy_notice_version.as_str().to_owned(),
        consented_at: now,
        channel: "mini_program".to_owned(),
        referral_code: form.referral_code.as_ref().map(|c| c.as_str().to_owned()),
        referrer_member_id: referrer,
        return_fields: Vec::new(),
        return_note: None,
        reject_code: None,
        reject_note: None,
        member_id: None,
        created_at: now,
        updated_at: now,
        erased_at: None,
    })
}

/// The blind index that keys a person across applications and members.
pub(crate) fn person_index(pii: &PiiCipher, resident_id: &ResidentId) -> String {
    pii.blind_index("resident_id", resident_id.expose())
}

/// The person's blind indexes under every blind-index key, the current one first: what a
/// lookup of the person compares with (rows indexed before a rotation included).
pub(crate) fn person_indexes(pii: &PiiCipher, resident_id: &ResidentId) -> Vec<String> {
    pii.blind_indexes("resident_id", resident_id.expose())
}
