//! Worker accounts (`accounts`): the login identity behind a WeChat openid, a verified phone
//! number, or both.
//!
//! The phone is stored only as AES-GCM ciphertext (context `phone`) plus its blind index
//! (`PiiCipher::blind_index("phone", …)`), which is unique: one phone, one account. Every
//! function takes `&mut PgConnection`, so it composes inside a caller's transaction.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;
use zhijian_domain::ids::AccountId;
use zhijian_domain::phone::PhoneNumber;

use crate::crypto::pii::PiiCipher;
use crate::db::StoreError;
use crate::db::schema::accounts;

/// The encryption context (and blind-index kind) of phone numbers.
const PHONE: &str = "phone";

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = accounts)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct AccountRow {
    /// Key.
    pub id: Uuid,
    /// WeChat openid of this mini-program, when the account signed in with WeChat.
    pub wechat_openid: Option<String>,
    /// WeChat unionid, when the mini-program is bound to an Open Platform account.
    pub wechat_unionid: Option<String>,
    /// The verified phone, sealed (`PiiCipher::encrypt(phone, "phone")`).
    pub phone_cipher: Option<String>,
    /// Blind index of the phone.
    pub phone_index: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl AccountRow {
    /// The domain id.
    pub fn account_id(&self) -> AccountId {
        AccountId::from_uuid(self.id)
    }

    /// Whether the account signed in with WeChat at least once.
    pub fn wechat_linked(&self) -> bool {
        self.wechat_openid.is_some()
    }

    /// The bound phone, decrypted; a value that does not open or parse is an internal error.
    pub fn phone(&self, pii: &PiiCipher) -> Result<Option<PhoneNumber>, StoreError> {
        let Some(sealed) = &self.phone_cipher else {
            return Ok(None);
        };
        let clear = pii.decrypt(sealed, PHONE).map_err(|e| {
            StoreError::broken(format!("account {}: phone does not decrypt: {e}", self.id))
        })?;
        PhoneNumber::parse(&clear).map(Some).map_err(|_| {
            StoreError::broken(format!(
                "account {}: stored phone is not a mobile number",
                self.id
            ))
        })
    }
}

/// Why a phone could not be bound to an account.
#[derive(Debug, thiserror::Error)]
pub enum BindPhoneError {
    /// The phone already belongs to another account.
    #[error("the phone is bound to another account")]
    PhoneTaken,
    /// The account does not exist.
    #[error("account not found")]
    AccountNotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for BindPhoneError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(_) => Self::PhoneTaken,
            StoreError::NotFound => Self::AccountNotFound,
            other => Self::Store(other),
        }
    }
}

impl From<diesel::result::Error> for BindPhoneError {
    fn from(error: diesel::result::Error) -> Self {
        StoreError::from(error).into()
    }
}

/// The account of `openid`, created on first sign-in. A `unionid` WeChat sends is recorded
/// (it appears once the mini-program is bound to an Open Platform account); an absent one
/// never erases a known one.
pub fn find_or_create_by_openid(
    conn: &mut PgConnection,
    openid: &str,
    unionid: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AccountRow, StoreError> {
    // A returning worker (most sign-ins) is one read, outside any transaction.
    let known: Option<AccountRow> = accounts::table
        .filter(accounts::wechat_openid.eq(openid))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(row) = known
        && (unionid.is_none() || row.wechat_unionid.as_deref() == unionid)
    {
        return Ok(row);
    }
    conn.transaction(|conn| {
        let inserted = diesel::insert_into(accounts::table)
            .values((
                accounts::id.eq(Uuid::now_v7()),
                accounts::wechat_openid.eq(openid),
                accounts::wechat_unionid.eq(unionid),
                accounts::created_at.eq(now),
                accounts::updated_at.eq(now),
            ))
            .on_conflict(accounts::wechat_openid)
            .do_nothing()
            .returning(AccountRow::as_returning())
            .get_result(conn)
            .optional()?;
        if let Some(row) = inserted {
            return Ok(row);
        }
        let row: AccountRow = accounts::table
            .filter(accounts::wechat_openid.eq(openid))
            .select(AccountRow::as_select())
            .first(conn)?;
        match unionid {
            Some(unionid) if row.wechat_unionid.as_deref() != Some(unionid) => {
                Ok(diesel::update(accounts::table.find(row.id))
                    .set((
                        accounts::wechat_unionid.eq(unionid),
                        accounts::updated_at.eq(now),
                    ))
                    .returning(AccountRow::as_returning())
                    .get_result(conn)?)
            }
            _ => Ok(row),
        }
    })
}

/// The account whose verified phone is `phone`, created on first sign-in (phone only).
pub fn find_or_create_by_phone(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    phone: &PhoneNumber,
    now: DateTime<Utc>,
) -> Result<AccountRow, StoreError> {
    let indexes = pii.blind_indexes(PHONE, phone.expose());
    let index = indexes.first().cloned().unwrap_or_default();
    let sealed = seal(pii, phone)?;
    conn.transaction(|conn| {
        // During a blind-index rotation the account may still be indexed under the old key.
        if indexes.len() > 1
            && let Some(row) = accounts::table
                .filter(accounts::phone_index.eq_any(&indexes[1..]))
                .select(AccountRow::as_select())
                .first(conn)
                .optional()?
        {
            return Ok(row);
        }
        let inserted = diesel::insert_into(accounts::table)
            .values((
                accounts::id.eq(Uuid::now_v7()),
                accounts::phone_cipher.eq(&sealed),
                accounts::phone_index.eq(&index),
                accounts::created_at.eq(now),
                accounts::updated_at.eq(now),
            ))
            .on_conflict(accounts::phone_index)
            .do_nothing()
            .returning(AccountRow::as_returning())
            .get_result(conn)
            .optional()?;
        match inserted {
            Some(row) => Ok(row),
            None => Ok(accounts::table
                .filter(accounts::phone_index.eq(&index))
                .select(AccountRow::as_select())
                .first(conn)?),
        }
    })
}

/// The account `id`, if it exists and is not cancelled (注销).
pub fn find(conn: &mut PgConnection, id: AccountId) -> Result<Option<AccountRow>, StoreError> {
    Ok(accounts::table
        .find(id.as_uuid())
        .filter(accounts::cancelled_at.is_null())
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?)
}

/// Binds the verified `phone` to account `id` (replacing a phone bound before). Binding the
/// phone the account already has changes nothing; a phone of another account is
/// [`BindPhoneError::PhoneTaken`] (accounts are never merged silently).
pub fn bind_phone(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    id: AccountId,
    phone: &PhoneNumber,
    now: DateTime<Utc>,
) -> Result<AccountRow, BindPhoneError> {
    let indexes = pii.blind_indexes(PHONE, phone.expose());
    let index = indexes.first().cloned().unwrap_or_default();
    let sealed = seal(pii, phone)?;
    conn.transaction(|conn| {
        let owner: Option<Uuid> = accounts::table
            .filter(accounts::phone_index.eq_any(&indexes))
            .select(accounts::id)
            .first(conn)
            .optional()?;
        match owner {
            Some(owner) if owner != id.as_uuid() => return Err(BindPhoneError::PhoneTaken),
            Some(_) => return find(conn, id)?.ok_or(BindPhoneError::AccountNotFound),
            None => {}
        }
        // A unique violation here is a concurrent bind of the same phone: PhoneTaken.
        Ok(diesel::update(accounts::table.find(id.as_uuid()))
            .set((
                accounts::phone_cipher.eq(&sealed),
                accounts::phone_index.eq(&index),
                accounts::updated_at.eq(now),
            ))
            .returning(AccountRow::as_returning())
            .get_result(conn)?)
    })
}

fn seal(pii: &PiiCipher, phone: &PhoneNumber) -> Result<String, StoreError> {
    pii.encrypt(phone.expose(), PHONE)
        .map(|sealed| sealed.to_string())
        .map_err(|e| StoreError::broken(format!("cannot encrypt a phone: {e}")))
}
