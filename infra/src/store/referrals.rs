//! Referral codes of members and the applications that carried them: the look-up at
//! submission, a member's own code, and the member's approved referrals.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::application::ApplicationStatus;
use zhijian_domain::member::MemberStatus;
use zhijian_domain::referral::ReferralCode;

use crate::db::StoreError;
use crate::db::schema::{applications, members, unions};
use crate::db::types::Stored;

/// The member holding a referral code, as the referral rule needs it.
#[derive(Debug, Clone, Queryable)]
pub struct ReferrerRow {
    /// The member.
    pub id: uuid::Uuid,
    /// The blind index of the member's resident ID (compared with the applicant's).
    pub person_index: String,
    /// The member's status.
    #[diesel(deserialize_as = Stored<MemberStatus>)]
    pub status: MemberStatus,
}

/// The member whose code is `code`, if any (the unique index `members_referral_code_key`).
pub fn find_referrer(
    conn: &mut PgConnection,
    code: &ReferralCode,
) -> Result<Option<ReferrerRow>, StoreError> {
    Ok(members::table
        .filter(members::referral_code.eq(code.as_str()))
        .select((members::id, members::person_index, members::status))
        .first(conn)
        .optional()?)
}

/// The referral code of member `id`.
pub fn code_of(conn: &mut PgConnection, id: uuid::Uuid) -> Result<ReferralCode, StoreError> {
    let stored: String = members::table
        .find(id)
        .select(members::referral_code)
        .first(conn)?;
    ReferralCode::parse(&stored)
        .map_err(|_| StoreError::broken(format!("member {id} holds a malformed referral code")))
}

/// One approved application a member referred.
#[derive(Debug, Clone, Queryable)]
pub struct ReferralRow {
    /// The application.
    pub application_id: uuid::Uuid,
    /// The applicant's name (the API masks it).
    pub name: String,
    /// The union that approved it.
    pub union_id: i64,
    /// That union's name.
    pub union_name: String,
    /// When it was approved.
    pub decided_at: DateTime<Utc>,
}

/// A page of the approved applications `member` referred, newest approval first, after the
/// `(decided_at, id)` of the previous page's last row (index `applications_referrer_decided`).
pub fn approved_referrals(
    conn: &mut PgConnection,
    member: uuid::Uuid,
    after: Option<(DateTime<Utc>, uuid::Uuid)>,
    limit: i64,
) -> Result<Vec<ReferralRow>, StoreError> {
    let mut query = applications::table
        .inner_join(unions::table)
        .filter(applications::referrer_member_id.eq(member))
        .filter(applications::status.eq(Stored(ApplicationStatus::Approved)))
        .filter(applications::decided_at.is_not_null())
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            applications::decided_at
                .lt(at)
                .or(applications::decided_at.eq(at).and(applications::id.lt(id))),
        );
    }
    Ok(query
        .order((applications::decided_at.desc(), applications::id.desc()))
        .limit(limit)
        .select((
            applications::id,
            applications::name,
            applications::union_id,
            unions::name,
            applications::decided_at.assume_not_null(),
        ))
        .load(conn)?)
}
