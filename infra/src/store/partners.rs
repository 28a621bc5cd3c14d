//! Partner clients, consent requests, consents and the applications partners submitted
//! (tables of migration `2026-12-07-000015_partners`).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::StoreError;
use crate::db::schema::{
    applications, members, partner_applications, partner_clients, partner_consent_requests,
    partner_consents,
};

/// A partner client as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = partner_clients)]
pub struct ClientRow {
    /// The client id (`client_id` of OAuth).
    pub id: Uuid,
    /// The partner's name.
    pub name: String,
    /// Who to contact at the partner.
    pub contact: String,
    /// The scopes it may be granted.
    pub scopes: Vec<String>,
    /// Keyed hash of the current secret.
    pub secret_hash: String,
    /// Keyed hash of the previous secret, during a rotation's overlap.
    pub previous_secret_hash: Option<String>,
    /// Until when the previous secret is accepted.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Registered at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
    /// Disabled since, when disabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Optimistic-lock version.
    pub version: i32,
}

/// Inserts a client.
pub fn insert_client(conn: &mut PgConnection, row: &ClientRow) -> Result<(), StoreError> {
    diesel::insert_into(partner_clients::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A client by id.
pub fn find_client(conn: &mut PgConnection, id: Uuid) -> Result<Option<ClientRow>, StoreError> {
    Ok(partner_clients::table
        .find(id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
}

/// A client by id, locked for an update.
pub fn lock_client(conn: &mut PgConnection, id: Uuid) -> Result<Option<ClientRow>, StoreError> {
    Ok(partner_clients::table
        .find(id)
        .select(ClientRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// Every client, newest first.
pub fn list_clients(conn: &mut PgConnection) -> Result<Vec<ClientRow>, StoreError> {
    Ok(partner_clients::table
        .select(ClientRow::as_select())
        .order((
            partner_clients::created_at.desc(),
            partner_clients::id.desc(),
        ))
        .limit(1000)
        .load(conn)?)
}

/// Writes a changed client (already locked), bumping its version.
pub fn update_client(conn: &mut PgConnection, row: &ClientRow) -> Result<ClientRow, StoreError> {
    Ok(diesel::update(partner_clients::table.find(row.id))
        .set((
            partner_clients::secret_hash.eq(&row.secret_hash),
            partner_clients::previous_secret_hash.eq(&row.previous_secret_hash),
            partner_clients::previous_secret_expires_at.eq(row.previous_secret_expires_at),
            partner_clients::disabled_at.eq(row.disabled_at),
            partner_clients::updated_at.eq(row.updated_at),
            partner_clients::version.eq(partner_clients::version + 1),
        ))
        .returning(ClientRow::as_returning())
        .get_result(conn)?)
}

/// A consent request as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = partner_consent_requests)]
pub struct ConsentRequestRow {
    /// The short code of the link.
    pub code: String,
    /// The partner asking.
    pub client_id: Uuid,
    /// The partner's id of its user.
    pub partner_user_id: String,
    /// The purposes asked for.
    pub purposes: Vec<String>,
    /// Made at.
    pub created_at: DateTime<Utc>,
    /// Unusable from.
    pub expires_at: DateTime<Utc>,
    /// Used (a consent granted with it) at.
    pub used_at: Option<DateTime<Utc>>,
}

/// Inserts a consent request; `false` when the code is taken (draw another).
pub fn insert_consent_request(
    conn: &mut PgConnection,
    row: &ConsentRequestRow,
) -> Result<bool, StoreError> {
    let n = diesel::insert_into(partner_consent_requests::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(n == 1)
}

/// A consent request by code, locked.
pub fn lock_consent_request(
    conn: &mut PgConnection,
    code: &str,
) -> Result<Option<ConsentRequestRow>, StoreError> {
    Ok(partner_consent_requests::table
        .find(code)
        .select(ConsentRequestRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// Marks a consent request used.
pub fn use_consent_request(
    conn: &mut PgConnection,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(partner_consent_requests::table.find(code))
        .set(partner_consent_requests::used_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// A consent as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = partner_consents)]
pub struct ConsentRow {
    /// The consent id.
    pub id: Uuid,
    /// The worker.
    pub account_id: Uuid,
    /// The partner.
    pub client_id: Uuid,
    /// What for.
    pub purposes: Vec<String>,
    /// The version of the partner-sharing notice the worker read.
    pub notice_version: String,
    /// The partner's id of the worker, when granted through a request.
    pub partner_user_id: Option<String>,
    /// The request it answered.
    pub request_code: Option<String>,
    /// Granted at.
    pub granted_at: DateTime<Utc>,
    /// Withdrawn at (live while `None`).
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// Inserts a consent.
pub fn insert_consent(conn: &mut PgConnection, row: &ConsentRow) -> Result<(), StoreError> {
    diesel::insert_into(partner_consents::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The live consent of `account` to `client`, locked when `lock`.
pub fn live_consent_of(
    conn: &mut PgConnection,
    account: Uuid,
    client: Uuid,
) -> Result<Option<ConsentRow>, StoreError> {
    Ok(partner_consents::table
        .filter(partner_consents::account_id.eq(account))
        .filter(partner_consents::client_id.eq(client))
        .filter(partner_consents::withdrawn_at.is_null())
        .select(ConsentRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// The live consent `client` holds under its user id `partner_user_id`, locked (shared) so
/// that a withdrawal waits for the write that relies on it.
pub fn live_consent_by_user(
    conn: &mut PgConnection,
    client: Uuid,
    partner_user_id: &str,
) -> Result<Option<ConsentRow>, StoreError> {
    Ok(partner_consents::table
        .filter(partner_consents::client_id.eq(client))
        .filter(partner_consents::partner_user_id.eq(partner_user_id))
        .filter(partner_consents::withdrawn_at.is_null())
        .select(ConsentRow::as_select())
        .for_share()
        .first(conn)
        .optional()?)
}

/// A consent of `account` by id, locked.
pub fn lock_consent_of_account(
    conn: &mut PgConnection,
    account: Uuid,
    id: Uuid,
) -> Result<Option<ConsentRow>, StoreError> {
    Ok(partner_consents::table
        .find(id)
        .filter(partner_consents::account_id.eq(account))
        .select(ConsentRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// Ends a consent at `now`.
pub fn withdraw_consent(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(partner_consents::table.find(id))
        .set(partner_consents::withdrawn_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Every consent of `account` (live and withdrawn) with its partner's name, newest first.
pub fn consents_of_account(
    conn: &mut PgConnection,
    account: Uuid,
) -> Result<Vec<(ConsentRow, String)>, StoreError> {
    Ok(partner_consents::table
        .inner_join(partner_clients::table)
        .filter(partner_consents::account_id.eq(account))
        .order((
            partner_consents::granted_at.desc(),
            partner_consents::id.desc(),
        ))
        .select((ConsentRow::as_select(), partner_clients::name))
        .load(conn)?)
}

/// Every account with a live consent to `client` among `accounts`, with its consent.
pub fn live_consents_among(
    conn: &mut PgConnection,
    client: Uuid,
    accounts: &[Uuid],
) -> Result<Vec<ConsentRow>, StoreError> {
    Ok(partner_consents::table
        .filter(partner_consents::client_id.eq(client))
        .filter(partner_consents::account_id.eq_any(accounts))
        .filter(partner_consents::withdrawn_at.is_null())
        .select(ConsentRow::as_select())
        .load(conn)?)
}

/// Records that `client` submitted `application` under `consent`.
pub fn link_application(
    conn: &mut PgConnection,
    application: Uuid,
    client: Uuid,
    consent: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::insert_into(partner_applications::table)
        .values((
            partner_applications::application_id.eq(application),
            partner_applications::client_id.eq(client),
            partner_applications::consent_id.eq(consent),
            partner_applications::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The account of an application `client` submitted, if it did.
pub fn partner_application_account(
    conn: &mut PgConnection,
    client: Uuid,
    application: Uuid,
) -> Result<Option<Uuid>, StoreError> {
    Ok(partner_applications::table
        .inner_join(applications::table)
        .filter(partner_applications::client_id.eq(client))
        .filter(partner_applications::application_id.eq(application))
        .select(applications::account_id)
        .first(conn)
        .optional()?)
}

/// The accounts that applied or are members under the person `person_index`.
pub fn accounts_of_person(
    conn: &mut PgConnection,
    person_index: &str,
) -> Result<Vec<Uuid>, StoreError> {
    let mut accounts: Vec<Uuid> = members::table
        .filter(members::person_index.eq(person_index))
        .select(members::account_id)
        .load::<Option<Uuid>>(conn)?
        .into_iter()
        .flatten()
        .collect();
    accounts.extend(
        applications::table
            .filter(applications::person_index.eq(person_index))
            .select(applications::account_id)
            .distinct()
            .load::<Uuid>(conn)?,
    );
    accounts.sort();
    accounts.dedup();
    Ok(accounts)
}

/// Inside the caller's transaction: queues webhook `event_type` with `data` (no personal
/// data) to every partner `account` has a live consent to for one of `purposes` — and to no
/// one else: a withdrawn consent stops the events at once.
pub fn emit_for_account(
    conn: &mut PgConnection,
    account: Option<Uuid>,
    purposes: &[zhijian_domain::partner::Purpose],
    event_type: &str,
    data: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(account) = account else {
        return Ok(());
    };
    let consents: Vec<ConsentRow> = partner_consents::table
        .filter(partner_consents::account_id.eq(account))
        .filter(partner_consents::withdrawn_at.is_null())
        .select(ConsentRow::as_select())
        .load(conn)?;
    for consent in consents {
        let wanted = purposes
            .iter()
            .any(|p| consent.purposes.iter().any(|c| c == p.as_str()));
        if wanted {
            crate::webhooks::store::enqueue_for_client(
                conn,
                consent.client_id,
                event_type,
                data.clone(),
                now,
            )?;
        }
    }
    Ok(())
}

/// The account of member `member`, if it still has one.
pub fn account_of_member(
    conn: &mut PgConnection,
    member: Uuid,
) -> Result<Option<Uuid>, StoreError> {
    Ok(members::table
        .find(member)
        .select(members::account_id)
        .first::<Option<Uuid>>(conn)
        .optional()?
        .flatten())
}

/// A cancelled account (注销): every live consent ends at `now`, and the partners' ids of the
/// worker are forgotten on every consent. Returns how many were live.
pub fn end_consents_of_cancelled_account(
    conn: &mut PgConnection,
    account: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let live = diesel::update(
        partner_consents::table
            .filter(partner_consents::account_id.eq(account))
            .filter(partner_consents::withdrawn_at.is_null()),
    )
    .set(partner_consents::withdrawn_at.eq(now))
    .execute(conn)?;
    diesel::update(partner_consents::table.filter(partner_consents::account_id.eq(account)))
        .set(partner_consents::partner_user_id.eq(None::<String>))
        .execute(conn)?;
    Ok(live)
}
