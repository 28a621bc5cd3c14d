//! Members: creation at approval (membership number, first affiliation) and look-ups.

use chrono::{DateTime, Datelike, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::calendar::local_date;
use zhijian_domain::ids::AccountId;
use zhijian_domain::membership_number::MembershipNumber;
use zhijian_domain::region::RegionCode;

use crate::db::StoreError;
use crate::db::schema::{affiliations, members, membership_counters, unions};
use crate::store::applications::{ApplicationError, ApplicationRow};
use crate::store::unions::UnionRow;

/// A member as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members)]
pub struct MemberRow {
    pub id: uuid::Uuid,
    pub person_index: String,
    /// The account that applied; `None` once that account was cancelled (注销).
    pub account_id: Option<uuid::Uuid>,
    pub membership_number: String,
    pub union_id: i64,
    pub name: String,
    pub joined_on: chrono::NaiveDate,
    #[diesel(deserialize_as = crate::db::types::Stored<zhijian_domain::member::MemberStatus>)]
    pub status: zhijian_domain::member::MemberStatus,
    pub version: i32,
    pub application_id: uuid::Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One period of membership in one union.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = affiliations)]
pub struct AffiliationRow {
    pub id: i64,
    pub member_id: uuid::Uuid,
    pub union_id: i64,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub reason: String,
    /// The number the member held during this period (a member who joins again gets a new one).
    pub membership_number: String,
    /// Why the period ended (`transfer`, `withdrawn`, `expelled`, `deceased`).
    pub end_reason: Option<String>,
}

/// The blind indexes of an application's person under every blind-index key (its resident
/// ID opened and indexed again), the current one first; the stored index when it cannot be
/// opened.
pub fn person_of(pii: &crate::crypto::pii::PiiCipher, application: &ApplicationRow) -> Vec<String> {
    match pii.decrypt(&application.resident_id_cipher, "resident_id") {
        Ok(clear) => pii.blind_indexes("resident_id", &clear),
        Err(_) => vec![application.person_index.clone()],
    }
}

/// Inside the approval transaction: creates the member of an approved application and its first
/// affiliation under a provisional number (unique, never committed: [`issue_number`] replaces it
/// before the commit). The county's number is taken last, by [`issue_number`], so that the
/// county's counter row — which every approval in the county needs — is held for the last two
/// statements of the transaction instead of from here to the commit.
/// `person` is [`person_of`] the application.
pub fn create_from_application(
    conn: &mut PgConnection,
    application: &ApplicationRow,
    person: &[String],
    now: DateTime<Utc>,
) -> Result<MemberRow, ApplicationError> {
    if crate::store::applications::is_current_member(conn, person)? {
        return Err(ApplicationError::AlreadyMember);
    }
    let joined_on = local_date(now);
    let provisional = provisional_number();
    // A former member (withdrawn, expelled) keeps the one row per person: the old number's
    // history stays, and the new membership starts today with a new number.
    let existing: Option<uuid::Uuid> = members::table
        .filter(members::person_index.eq_any(person))
        .select(members::id)
        .first(conn)
        .optional()?;
    let member: MemberRow = match existing {
        Some(id) => diesel::update(members::table.find(id))
            .set((
                members::account_id.eq(application.account_id),
                members::membership_number.eq(&provisional),
                members::union_id.eq(application.union_id),
                members::name.eq(&application.name),
                members::joined_on.eq(joined_on),
                members::status.eq("active"),
                members::version.eq(members::version + 1),
                members::application_id.eq(application.id),
                members::updated_at.eq(now),
            ))
            .returning(MemberRow::as_returning())
            .get_result(conn)?,
        None => diesel::insert_into(members::table)
            .values((
                members::id.eq(uuid::Uuid::now_v7()),
                members::person_index.eq(person.first().unwrap_or(&application.person_index)),
                members::account_id.eq(application.account_id),
                members::membership_number.eq(&provisional),
                members::union_id.eq(application.union_id),
                members::name.eq(&application.name),
                members::joined_on.eq(joined_on),
                members::status.eq("active"),
                members::application_id.eq(application.id),
                members::created_at.eq(now),
                members::updated_at.eq(now),
            ))
            .returning(MemberRow::as_returning())
            .get_result(conn)?,
    };
    diesel::insert_into(affiliations::table)
        .values((
            affiliations::member_id.eq(member.id),
            affiliations::union_id.eq(member.union_id),
            affiliations::started_at.eq(now),
            affiliations::reason.eq("joined"),
            affiliations::membership_number.eq(&member.membership_number),
        ))
        .execute(conn)?;
    Ok(member)
}

/// A placeholder for the membership number between [`create_from_application`] and
/// [`issue_number`] in one transaction: `P` and 15 random hex digits (60 bits), which no real
/// number (16 digits, or 15 and `X`) can equal. Never committed.
fn provisional_number() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("P{}", &random[random.len() - 15..])
}

/// The last statements of the approval transaction: the next number of the work region's
/// county for this year (the counter row stays locked until the commit right after, so numbers
/// stay gap-free and in commit order per county), with its check character (the domain's
/// `MembershipNumber::issue`), written over the provisional one on the member and its open
/// affiliation in one statement. Returns the number.
pub fn issue_number(
    conn: &mut PgConnection,
    member: &MemberRow,
    application: &ApplicationRow,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let county = RegionCode::parse(&application.work_region)
        .ok()
        .and_then(|r| r.county())
        .ok_or_else(|| {
            StoreError::broken(format!("application {} has no county", application.id))
        })?;
    let year = local_date(now).year();
    let sequence: i32 = diesel::insert_into(membership_counters::table)
        .values((
            membership_counters::county_code.eq(county.as_str()),
            membership_counters::year.eq(i16::try_from(year).unwrap_or(i16::MAX)),
            membership_counters::last_value.eq(1),
        ))
        .on_conflict((membership_counters::county_code, membership_counters::year))
        .do_update()
        .set(membership_counters::last_value.eq(membership_counters::last_value + 1))
        .returning(membership_counters::last_value)
        .get_result(conn)?;
    let number = MembershipNumber::issue(&county, year, u32::try_from(sequence).unwrap_or(0))
        .map_err(|e| StoreError::broken(format!("membership number for {county}: {e}")))?;
    let written = crate::db::Numbered(NumberStatement {
        member: member.id,
        number: number.as_str(),
    })
    .execute(conn)?;
    if written != 1 {
        return Err(StoreError::broken(format!(
            "member {}: the provisional number was not replaced",
            member.id
        )));
    }
    Ok(number.as_str().to_owned())
}

/// The member's number and that of its open affiliation, in one statement.
const NUMBER_SQL: &str = "\
WITH aff AS (UPDATE affiliations SET membership_number = $2 \
             WHERE member_id = $1 AND ended_at IS NULL) \
UPDATE members SET membership_number = $2 WHERE id = $1";

struct NumberStatement<'a> {
    member: uuid::Uuid,
    number: &'a str,
}

struct NumberStatementId;

impl crate::db::NumberedStatement for NumberStatement<'_> {
    type Id = NumberStatementId;
    const FIXED_TEXT: bool = true;

    fn sql(&self) -> &str {
        NUMBER_SQL
    }

    fn bind<'b>(
        &'b self,
        n: usize,
        out: &mut diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Text, Uuid};
        match n {
            1 => out.push_bind_param::<Uuid, _>(&self.member),
            2 => out.push_bind_param::<Text, _>(&self.number),
            _ => Err(diesel::result::Error::QueryBuilderError(
                format!("NUMBER_SQL has no parameter ${n}").into(),
            )),
        }
    }
}

/// The member of an account, with the member's union.
pub fn find_for_account(
    conn: &mut PgConnection,
    account: AccountId,
) -> Result<Option<(MemberRow, UnionRow)>, StoreError> {
    Ok(members::table
        .inner_join(unions::table)
        .filter(members::account_id.eq(account.as_uuid()))
        .order(members::updated_at.desc())
        .select((MemberRow::as_select(), UnionRow::as_select()))
        .first(conn)
        .optional()?)
}

/// The member with this id, with the member's union.
pub fn find(
    conn: &mut PgConnection,
    id: uuid::Uuid,
) -> Result<Option<(MemberRow, UnionRow)>, StoreError> {
    Ok(members::table
        .inner_join(unions::table)
        .filter(members::id.eq(id))
        .select((MemberRow::as_select(), UnionRow::as_select()))
        .first(conn)
        .optional()?)
}

/// A member's affiliation history, oldest first, with union names.
pub fn affiliations_of(
    conn: &mut PgConnection,
    member: uuid::Uuid,
) -> Result<Vec<(AffiliationRow, String)>, StoreError> {
    Ok(affiliations::table
        .inner_join(unions::table)
        .filter(affiliations::member_id.eq(member))
        .order((affiliations::started_at.asc(), affiliations::id.asc()))
        .select((AffiliationRow::as_select(), unions::name))
        .load(conn)?)
}

/// Inside an open transaction: the member's row, locked until the commit (`FOR UPDATE`), so
/// steps that start from the member's status run one after the other.
pub fn lock(conn: &mut PgConnection, id: uuid::Uuid) -> Result<MemberRow, StoreError> {
    Ok(members::table
        .find(id)
        .select(MemberRow::as_select())
        .for_update()
        .first(conn)?)
}
