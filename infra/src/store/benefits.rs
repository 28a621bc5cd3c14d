//! Welcome benefits: the unions' configurations, the grant at approval, members' records and
//! their redemption at stations.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::benefit::{BenefitKind, BenefitRecord, BenefitTerms};

use crate::db::schema::{benefits, member_benefits, members, stations, unions};
use crate::db::sql::stations::GrantStatement;
use crate::db::{Numbered, StoreError};

/// A configured benefit.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = benefits)]
pub struct BenefitRow {
    /// Key.
    pub id: i64,
    /// The union that gives it.
    pub union_id: i64,
    /// [`BenefitKind`] as text.
    pub kind: String,
    /// Name.
    pub name: String,
    /// 承保机构 (insurance).
    pub insurer: Option<String>,
    /// Months of cover (insurance).
    pub cover_months: Option<i32>,
    /// Where a gift is collected.
    pub station_id: Option<i64>,
    /// Days a granted record stays usable.
    pub valid_days: i32,
    /// What may still be granted.
    pub stock: i32,
    /// Version.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// No longer granted since.
    pub closed_at: Option<DateTime<Utc>>,
}

impl BenefitRow {
    /// The kind.
    pub fn kind(&self) -> Result<BenefitKind, StoreError> {
        BenefitKind::parse(&self.kind).map_err(|_| StoreError::broken("unknown benefit kind"))
    }
}

/// A benefit to create.
#[derive(Debug, Clone)]
pub struct NewBenefit {
    /// The union that gives it.
    pub union_id: i64,
    /// Kind.
    pub kind: BenefitKind,
    /// Name.
    pub name: String,
    /// Insurer.
    pub insurer: Option<String>,
    /// Collection station.
    pub station_id: Option<i64>,
    /// Validity, stock, cover.
    pub terms: BenefitTerms,
}

/// Inserts a benefit.
pub fn create(
    conn: &mut PgConnection,
    new: &NewBenefit,
    now: DateTime<Utc>,
) -> Result<BenefitRow, StoreError> {
    Ok(diesel::insert_into(benefits::table)
        .values((
            benefits::union_id.eq(new.union_id),
            benefits::kind.eq(new.kind.as_str()),
            benefits::name.eq(&new.name),
            benefits::insurer.eq(new.insurer.as_deref()),
            benefits::cover_months.eq(new.terms.cover_months),
            benefits::station_id.eq(new.station_id),
            benefits::valid_days.eq(new.terms.valid_days),
            benefits::stock.eq(new.terms.stock),
            benefits::created_at.eq(now),
            benefits::updated_at.eq(now),
        ))
        .returning(BenefitRow::as_returning())
        .get_result(conn)?)
}

/// The benefits of the unions in `scope`'s subtree, by id, after `after`, at most `limit`.
pub fn in_subtree(
    conn: &mut PgConnection,
    scope: &UnionPath,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<BenefitRow>, StoreError> {
    Ok(benefits::table
        .inner_join(unions::table)
        .filter(unions::path.ge(scope.to_string()))
        .filter(unions::path.lt(scope.subtree_end()))
        .filter(benefits::id.gt(after.unwrap_or(0)))
        .select(BenefitRow::as_select())
        .order(benefits::id)
        .limit(limit)
        .load(conn)?)
}

/// The benefit with this id, with its union's path, its row locked until the transaction
/// ends (a concurrent grant waits, so a restock sees the stock it changes).
pub fn find_for_update(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<(BenefitRow, String)>, StoreError> {
    let Some(row) = benefits::table
        .find(id)
        .select(BenefitRow::as_select())
        .for_update()
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let path = unions::table
        .find(row.union_id)
        .select(unions::path)
        .first(conn)?;
    Ok(Some((row, path)))
}

/// What an edit writes.
#[derive(Debug, Clone)]
pub struct BenefitChanges {
    /// Name.
    pub name: String,
    /// Collection station.
    pub station_id: Option<i64>,
    /// Validity of records granted from now on.
    pub valid_days: i32,
    /// Remaining stock.
    pub stock: i32,
}

/// Writes `changes` to benefit `before` if it is still at its version; `None` otherwise.
pub fn update(
    conn: &mut PgConnection,
    before: &BenefitRow,
    changes: &BenefitChanges,
    now: DateTime<Utc>,
) -> Result<Option<BenefitRow>, StoreError> {
    Ok(diesel::update(
        benefits::table
            .filter(benefits::id.eq(before.id))
            .filter(benefits::version.eq(before.version)),
    )
    .set((
        benefits::name.eq(&changes.name),
        benefits::station_id.eq(changes.station_id),
        benefits::valid_days.eq(changes.valid_days),
        benefits::stock.eq(changes.stock),
        benefits::version.eq(before.version + 1),
        benefits::updated_at.eq(now),
    ))
    .returning(BenefitRow::as_returning())
    .get_result(conn)
    .optional()?)
}

/// The benefits naming `station` as their collection point that still matter: open ones
/// (they may be granted again) and any with a record not used and not expired at `now`.
pub fn pending_at_station(
    conn: &mut PgConnection,
    station: i64,
    now: DateTime<Utc>,
) -> Result<Vec<BenefitRow>, StoreError> {
    let unredeemed = diesel::dsl::exists(
        member_benefits::table
            .filter(member_benefits::benefit_id.eq(benefits::id))
            .filter(member_benefits::used_at.is_null())
            .filter(member_benefits::expires_at.gt(now)),
    );
    Ok(benefits::table
        .filter(benefits::station_id.eq(station))
        .filter(benefits::closed_at.is_null().or(unredeemed))
        .select(BenefitRow::as_select())
        .order(benefits::id)
        .for_update()
        .load(conn)?)
}

/// Moves benefit `row`'s collection point to `successor` (a station closing), version + 1.
pub fn move_to_station(
    conn: &mut PgConnection,
    row: &BenefitRow,
    successor: i64,
    now: DateTime<Utc>,
) -> Result<BenefitRow, StoreError> {
    Ok(diesel::update(benefits::table.find(row.id))
        .set((
            benefits::station_id.eq(successor),
            benefits::version.eq(benefits::version + 1),
            benefits::updated_at.eq(now),
        ))
        .returning(BenefitRow::as_returning())
        .get_result(conn)?)
}

/// The benefit with this id, with its union's path.
pub fn find(conn: &mut PgConnection, id: i64) -> Result<Option<(BenefitRow, String)>, StoreError> {
    Ok(benefits::table
        .inner_join(unions::table)
        .filter(benefits::id.eq(id))
        .select((BenefitRow::as_select(), unions::path))
        .first(conn)
        .optional()?)
}

/// Grants member `member` (of the union at `path`, approved by `application`) every open,
/// in-stock benefit of that union and its ancestors not held yet — one statement
/// ([`crate::db::sql::stations::GRANT`]). Answers the granted benefit ids.
pub fn grant_on_approval(
    conn: &mut PgConnection,
    member: uuid::Uuid,
    application: uuid::Uuid,
    path: &UnionPath,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    #[derive(QueryableByName)]
    struct Granted {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let statement = GrantStatement {
        member_id: member,
        application_id: application,
        unions: path.ids().iter().map(|id| id.get()).collect(),
        at: now,
    };
    Ok(Numbered(statement)
        .load::<Granted>(conn)?
        .into_iter()
        .map(|g| g.id)
        .collect())
}

/// The names of benefits `ids`, by id.
pub fn names(conn: &mut PgConnection, ids: &[i64]) -> Result<Vec<String>, StoreError> {
    Ok(benefits::table
        .filter(benefits::id.eq_any(ids))
        .select(benefits::name)
        .order(benefits::id)
        .load(conn)?)
}

/// A member's benefit record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = member_benefits)]
pub struct MemberBenefitRow {
    /// Key.
    pub id: i64,
    /// The member.
    pub member_id: uuid::Uuid,
    /// The benefit.
    pub benefit_id: i64,
    /// The approval that granted it.
    pub application_id: Option<uuid::Uuid>,
    /// Granted.
    pub granted_at: DateTime<Utc>,
    /// Usable until.
    pub expires_at: DateTime<Utc>,
    /// Used.
    pub used_at: Option<DateTime<Utc>>,
    /// Where.
    pub used_station_id: Option<i64>,
    /// By which station admin.
    pub used_by: Option<uuid::Uuid>,
}

impl MemberBenefitRow {
    /// The domain view: used when, expires when.
    pub fn record(&self) -> BenefitRecord {
        BenefitRecord {
            used_at: self.used_at,
            expires_at: self.expires_at,
        }
    }
}

/// A member's record with its benefit and the name of the station it was used at.
pub type HeldBenefit = (MemberBenefitRow, BenefitRow, Option<String>);

/// Every benefit record of `member`, oldest first.
pub fn of_member(
    conn: &mut PgConnection,
    member: uuid::Uuid,
) -> Result<Vec<HeldBenefit>, StoreError> {
    Ok(member_benefits::table
        .inner_join(benefits::table)
        .left_join(stations::table.on(stations::id.nullable().eq(member_benefits::used_station_id)))
        .filter(member_benefits::member_id.eq(member))
        .select((
            MemberBenefitRow::as_select(),
            BenefitRow::as_select(),
            stations::name.nullable(),
        ))
        .order(member_benefits::id)
        .load(conn)?)
}

/// The record of `member` for `benefit`, with its benefit and station name, locked.
pub fn held(
    conn: &mut PgConnection,
    member: uuid::Uuid,
    benefit: i64,
) -> Result<Option<HeldBenefit>, StoreError> {
    Ok(member_benefits::table
        .inner_join(benefits::table)
        .left_join(stations::table.on(stations::id.nullable().eq(member_benefits::used_station_id)))
        .filter(member_benefits::member_id.eq(member))
        .filter(member_benefits::benefit_id.eq(benefit))
        .select((
            MemberBenefitRow::as_select(),
            BenefitRow::as_select(),
            stations::name.nullable(),
        ))
        .first(conn)
        .optional()?)
}

/// Marks record `id` used at `station` by `admin` if it is still unused and valid at `now`;
/// `None` when another scan won the race (or it expired).
pub fn mark_used(
    conn: &mut PgConnection,
    id: i64,
    station: i64,
    admin: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<Option<MemberBenefitRow>, StoreError> {
    Ok(diesel::update(
        member_benefits::table
            .filter(member_benefits::id.eq(id))
            .filter(member_benefits::used_at.is_null())
            .filter(member_benefits::expires_at.gt(now)),
    )
    .set((
        member_benefits::used_at.eq(now),
        member_benefits::used_station_id.eq(station),
        member_benefits::used_by.eq(admin),
    ))
    .returning(MemberBenefitRow::as_returning())
    .get_result(conn)
    .optional()?)
}

/// One redemption at a station: the record, the benefit's name, the member's number.
pub type Redemption = (MemberBenefitRow, String, String);

/// The redemptions at `station`, newest first, after `(used_at, id)`, at most `limit`.
pub fn redemptions(
    conn: &mut PgConnection,
    station: i64,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<Redemption>, StoreError> {
    let mut query = member_benefits::table
        .inner_join(benefits::table)
        .inner_join(members::table)
        .filter(member_benefits::used_station_id.eq(station))
        .select((
            MemberBenefitRow::as_select(),
            benefits::name,
            members::membership_number,
        ))
        .order((member_benefits::used_at.desc(), member_benefits::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            member_benefits::used_at.lt(at).or(member_benefits::used_at
                .eq(at)
                .and(member_benefits::id.lt(id))),
        );
    }
    Ok(query.load(conn)?)
}
