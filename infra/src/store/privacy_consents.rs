//! Consents to the privacy notice, one row per account (`privacy_consents`).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;
use zhijian_domain::ids::AccountId;

use crate::db::StoreError;
use crate::db::schema::privacy_consents;

/// A stored consent.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = privacy_consents)]
pub struct ConsentRow {
    /// The notice version consented to.
    pub notice_version: String,
    /// The purposes agreed (`Purpose::as_str`).
    pub purposes: Vec<String>,
    /// When this version was first consented to.
    pub consented_at: DateTime<Utc>,
    /// When the purposes last changed.
    pub updated_at: DateTime<Utc>,
}

/// The consent of `account`, if any.
pub fn find(conn: &mut PgConnection, account: AccountId) -> Result<Option<ConsentRow>, StoreError> {
    Ok(privacy_consents::table
        .find(account.as_uuid())
        .select(ConsentRow::as_select())
        .first(conn)
        .optional()?)
}

/// The consent of `account`, locked for an update.
pub fn lock(conn: &mut PgConnection, account: AccountId) -> Result<Option<ConsentRow>, StoreError> {
    Ok(privacy_consents::table
        .find(account.as_uuid())
        .select(ConsentRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// The notice version `account` consented to, if any (the write gate's one lookup).
pub fn version_of(
    conn: &mut PgConnection,
    account: AccountId,
) -> Result<Option<String>, StoreError> {
    Ok(privacy_consents::table
        .find(account.as_uuid())
        .select(privacy_consents::notice_version)
        .first(conn)
        .optional()?)
}

/// Writes the consent of `account`: `consented_at` moves only when the version changes.
pub fn save(
    conn: &mut PgConnection,
    account: AccountId,
    version: &str,
    purposes: &[&str],
    now: DateTime<Utc>,
) -> Result<ConsentRow, StoreError> {
    let id: Uuid = account.as_uuid();
    Ok(diesel::insert_into(privacy_consents::table)
        .values((
            privacy_consents::account_id.eq(id),
            privacy_consents::notice_version.eq(version),
            privacy_consents::purposes.eq(purposes),
            privacy_consents::consented_at.eq(now),
            privacy_consents::updated_at.eq(now),
        ))
        .on_conflict(privacy_consents::account_id)
        .do_update()
        .set((
            privacy_consents::consented_at.eq(diesel::dsl::sql::<diesel::sql_types::Timestamptz>(
                "CASE WHEN privacy_consents.notice_version = excluded.notice_version \
                 THEN privacy_consents.consented_at ELSE excluded.consented_at END",
            )),
            privacy_consents::notice_version.eq(version),
            privacy_consents::purposes.eq(purposes),
            privacy_consents::updated_at.eq(now),
        ))
        .returning(ConsentRow::as_returning())
        .get_result(conn)?)
}

/// Records the consent an application's consent block gives, when the account has none yet;
/// answers whether it was recorded.
pub fn record_first(
    conn: &mut PgConnection,
    account: AccountId,
    version: &str,
    purposes: &[&str],
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(diesel::insert_into(privacy_consents::table)
        .values((
            privacy_consents::account_id.eq(account.as_uuid()),
            privacy_consents::notice_version.eq(version),
            privacy_consents::purposes.eq(purposes),
            privacy_consents::consented_at.eq(now),
            privacy_consents::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?
        == 1)
}

/// Removes the consent of `account` (cancellation).
pub fn remove(conn: &mut PgConnection, account: AccountId) -> Result<(), StoreError> {
    diesel::delete(privacy_consents::table.find(account.as_uuid())).execute(conn)?;
    Ok(())
}
