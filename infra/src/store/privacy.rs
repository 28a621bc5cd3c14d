//! Personal-information rights as stored: erasing the personal data of applications that never
//! led to membership, cancelling (注销) an account, and the reads of "my data".
//!
//! Erasure keeps what the statistics read — status, union, occupation group, gender, ethnicity,
//! education, political status, household type, employment status, platform, work region
//! (a township code), dates, channel — and replaces every column that names or finds a person
//! with a fixed placeholder: the name becomes `已删除`, the resident ID and phone ciphertexts
//! become empty (nothing decrypts), the blind indexes become `erased:<application id>`
//! (nothing searches to them, and they stay unique), the birth date keeps its year only
//! (age brackets), the household region, employer, work address, notes and the free-text
//! reasons of the timeline are removed.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz, Uuid as SqlUuid};
use zhijian_domain::application::ApplicationStatus;
use zhijian_domain::ids::AccountId;

use crate::db::StoreError;
use crate::db::schema::{accounts, applications, audit_log, idempotency_keys, members, unions};
use crate::db::types::Stored;
use crate::store::applications::ApplicationRow;

/// What erasure writes over an application's personal columns (`doomed` names the ids).
const ERASE: &str = "erased_events AS ( \
         UPDATE application_events SET reason = NULL \
         WHERE application_id IN (SELECT id FROM doomed) AND reason IS NOT NULL) \
     UPDATE applications SET \
         erased_at = $1, \
         name = '已删除', \
         resident_id_cipher = '', \
         phone_cipher = '', \
         person_index = 'erased:' || id::text, \
         phone_index = 'erased:' || id::text, \
         birth_date = make_date(extract(year FROM birth_date)::int, 1, 1), \
         household_region = NULL, \
         employer_name = '已删除', \
         employer_credit_code = NULL, \
         work_address = '已删除', \
         referral_code = NULL, \
         return_note = NULL, \
         reject_note = NULL \
     WHERE id IN (SELECT id FROM doomed)";

/// Erases up to `batch` applications closed (rejected, withdrawn, expired) before `cutoff` that
/// never led to membership, oldest first; answers how many.
pub fn erase_closed_before(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    batch: i64,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let sql = format!(
        "WITH doomed AS ( \
             SELECT id FROM applications \
             WHERE erased_at IS NULL AND member_id IS NULL \
               AND status IN ('rejected', 'withdrawn', 'expired') AND updated_at < $2 \
             ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED), {ERASE}"
    );
    Ok(diesel::sql_query(sql)
        .bind::<Timestamptz, _>(now)
        .bind::<Timestamptz, _>(cutoff)
        .bind::<BigInt, _>(batch)
        .execute(conn)?)
}

/// Erases every closed application of `account` that never led to membership (at
/// cancellation, after the open one was withdrawn); answers how many.
pub fn erase_for_account(
    conn: &mut PgConnection,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let sql = format!(
        "WITH doomed AS ( \
             SELECT id FROM applications \
             WHERE account_id = $2 AND erased_at IS NULL AND member_id IS NULL \
               AND status IN ('rejected', 'withdrawn', 'expired') FOR UPDATE), {ERASE}"
    );
    Ok(diesel::sql_query(sql)
        .bind::<Timestamptz, _>(now)
        .bind::<SqlUuid, _>(account.as_uuid())
        .execute(conn)?)
}

/// The account, locked for its cancellation; `None` if it does not exist or is cancelled.
pub fn lock_live_account(
    conn: &mut PgConnection,
    account: AccountId,
) -> Result<Option<crate::store::accounts::AccountRow>, StoreError> {
    Ok(accounts::table
        .find(account.as_uuid())
        .filter(accounts::cancelled_at.is_null())
        .select(crate::store::accounts::AccountRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// The open applications of `account` (at most one, by the one-open-per-person rule).
pub fn open_applications(
    conn: &mut PgConnection,
    account: AccountId,
) -> Result<Vec<ApplicationRow>, StoreError> {
    let open: Vec<Stored<ApplicationStatus>> = ApplicationStatus::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| Stored(*s))
        .collect();
    Ok(applications::table
        .filter(applications::account_id.eq(account.as_uuid()))
        .filter(applications::status.eq_any(open))
        .select(ApplicationRow::as_select())
        .for_update()
        .load(conn)?)
}

/// Unlinks the members of `account` (the union's register keeps them); answers how many.
pub fn unlink_members(
    conn: &mut PgConnection,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Ok(
        diesel::update(members::table.filter(members::account_id.eq(account.as_uuid())))
            .set((
                members::account_id.eq(None::<uuid::Uuid>),
                members::updated_at.eq(now),
            ))
            .execute(conn)?,
    )
}

/// Frees the account's identifiers and marks it cancelled (a tombstone), and deletes the
/// answers stored under its idempotency keys.
pub fn tombstone_account(
    conn: &mut PgConnection,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(accounts::table.find(account.as_uuid()))
        .set((
            accounts::wechat_openid.eq(None::<String>),
            accounts::wechat_unionid.eq(None::<String>),
            accounts::phone_cipher.eq(None::<String>),
            accounts::phone_index.eq(None::<String>),
            accounts::cancelled_at.eq(now),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    let scopes = crate::store::idempotency::WorkerWrite::ALL.map(|write| write.scope(account));
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::scope.eq_any(scopes)))
        .execute(conn)?;
    crate::store::privacy_consents::remove(conn, account)?;
    Ok(())
}

/// One time an admin saw an application's personal data in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalDataView {
    /// When.
    pub at: DateTime<Utc>,
    /// The application.
    pub application_id: String,
    /// The admin's union.
    pub union_id: Option<i64>,
    /// Its name.
    pub union_name: Option<String>,
    /// The admin's role.
    pub role: Option<String>,
}

/// When, which application, the admin's union and its name, the admin's role.
type ViewRow = (
    DateTime<Utc>,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// Every reveal of the personal data of `account`'s applications (the audit trail's
/// `view_personal_data` entries), newest first, at most 1000.
pub fn personal_data_views(
    conn: &mut PgConnection,
    account: AccountId,
) -> Result<Vec<PersonalDataView>, StoreError> {
    let ids: Vec<String> = applications::table
        .filter(applications::account_id.eq(account.as_uuid()))
        .select(applications::id)
        .load::<uuid::Uuid>(conn)?
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ViewRow> = audit_log::table
        .left_join(unions::table.on(unions::id.nullable().eq(audit_log::union_id)))
        .filter(audit_log::object_kind.eq("application"))
        .filter(audit_log::action.eq("view_personal_data"))
        .filter(audit_log::object_id.eq_any(&ids))
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .select((
            audit_log::at,
            audit_log::object_id,
            audit_log::union_id,
            unions::name.nullable(),
            audit_log::role,
        ))
        .limit(1000)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(at, application_id, union_id, union_name, role)| PersonalDataView {
                at,
                application_id,
                union_id,
                union_name,
                role,
            },
        )
        .collect())
}
