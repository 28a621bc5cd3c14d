//! Welcome benefits (入会礼遇): configured by a union's managers, granted on approval (see
//! [`grant_on_approval`], called inside the approval's transaction), listed for the member, and
//! redeemed once by card at a station by its staff.

use chrono::{DateTime, Utc};
use diesel::Connection;
use diesel::pg::PgConnection;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::benefit::{
    BenefitId, BenefitKind, BenefitSpecError, BenefitTerms, RedeemRefusal,
};
use zhijian_domain::ids::{AccountId, MemberId, UnionId};
use zhijian_domain::member::ShowCardError;
use zhijian_domain::outbox_event::OutboxEvent;
use zhijian_domain::station::StationId;
use zhijian_domain::text::{BenefitName, InsurerName};

use crate::db::{self, StoreError};
use crate::store::applications::AdminActor;
use crate::store::audit::{self, AuditEntry};
use crate::store::benefits::{
    self, BenefitChanges, BenefitRow, HeldBenefit, MemberBenefitRow, NewBenefit, Redemption,
};
use crate::store::idempotency::{self, Answer, IdempotencyKey};
use crate::store::members::{self, MemberRow};
use crate::store::outbox;
use crate::store::stations;
use crate::usecases::Services;

/// A benefit as a manager configures it, parsed.
#[derive(Debug, Clone)]
pub struct BenefitDraft {
    /// The union that gives it.
    pub union: UnionId,
    /// Kind.
    pub kind: BenefitKind,
    /// Name.
    pub name: BenefitName,
    /// 承保机构 (insurance).
    pub insurer: Option<InsurerName>,
    /// Where a gift is collected (a station of the union's subtree).
    pub station: Option<StationId>,
    /// Validity, stock, cover.
    pub terms: BenefitTerms,
}

/// Why a benefit could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum BenefitWriteError {
    /// The union lies outside the manager's subtree (or does not exist).
    #[error("not found")]
    NotFound,
    /// The collection station does not exist, is closed or lies outside the union's subtree.
    #[error("unknown station")]
    UnknownStation,
    /// Someone changed the benefit first.
    #[error("stale version")]
    Stale,
    /// The change breaks a rule of benefits (a restock below what was granted …).
    #[error(transparent)]
    Spec(#[from] BenefitSpecError),
    /// The idempotency key was used before with another request.
    #[error("idempotency key reused")]
    KeyReused,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the member's benefits could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MyBenefitsError {
    /// The worker holds no membership.
    #[error("not a member")]
    NotAMember,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a redemption was refused.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    /// The admin is not station staff bound to a station.
    #[error("not station staff")]
    NotStationStaff,
    /// The card names no member we know.
    #[error("unknown member")]
    UnknownMember,
    /// The membership has ended (withdrawn, expelled, deceased).
    #[error(transparent)]
    MembershipEnded(ShowCardError),
    /// The member holds no such benefit.
    #[error("benefit not held")]
    NotHeld,
    /// Used before, at this time and station.
    #[error("already used")]
    AlreadyUsed {
        /// When.
        at: DateTime<Utc>,
        /// The station's name.
        station: String,
    },
    /// Its validity ended.
    #[error("expired")]
    Expired,
    /// It is collected at another station (or outside this station's reach).
    #[error("other station")]
    OtherStation,
    /// The admin's station is closed.
    #[error("station closed")]
    StationClosed,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a station's redemptions could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RedemptionsError {
    /// Not the caller's station, or outside their subtree.
    #[error("not found")]
    NotFound,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

super::store_errors!(
    BenefitWriteError,
    MyBenefitsError,
    RedeemError,
    RedemptionsError
);

/// Checks that station `station` may be the collection point of a benefit of the union at
/// `path`: it exists, is open and lies in that union's subtree.
fn check_station(
    conn: &mut PgConnection,
    station: StationId,
    path: &UnionPath,
) -> Result<(), BenefitWriteError> {
    let (row, owner) =
        stations::find_with_union(conn, station.get())?.ok_or(BenefitWriteError::UnknownStation)?;
    if row.closed_at.is_some() || !path.contains(&owner.union_path()?) {
        return Err(BenefitWriteError::UnknownStation);
    }
    Ok(())
}

fn terms_summary(row: &BenefitRow) -> String {
    format!(
        "v{} {} [{}] 领取站点{} 库存{} 有效期{}天",
        row.version,
        row.name,
        row.kind,
        row.station_id
            .map_or_else(|| "不限".to_owned(), |s| s.to_string()),
        row.stock,
        row.valid_days
    )
}

fn audit_benefit(
    conn: &mut PgConnection,
    admin: &AdminActor,
    row: &BenefitRow,
    action: &'static str,
    reason: String,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &admin.audit_actor(),
            object_kind: "benefit",
            object_id: row.id.to_string(),
            action,
            reason: Some(reason),
        },
    )
}

/// 配置入会礼遇: a benefit of union `draft.union` (inside the manager's subtree); `render`
/// makes the answer, the one a retry with the same `key` gets back.
pub async fn create_benefit(
    ctx: &Services,
    admin: AdminActor,
    draft: BenefitDraft,
    key: Option<IdempotencyKey>,
    render: impl FnOnce(&BenefitRow) -> Result<Answer, String> + Send + 'static,
) -> Result<Answer, BenefitWriteError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            if let Some(key) = &key {
                match idempotency::claim(conn, key)? {
                    Err(_) => return Err(BenefitWriteError::KeyReused),
                    Ok(Some(replay)) => return Ok(replay),
                    Ok(None) => {}
                }
            }
            let union = crate::store::unions::find(conn, draft.union)?
                .ok_or(BenefitWriteError::NotFound)?;
            let path = union.union_path()?;
            if !admin.union_path.contains(&path) {
                return Err(BenefitWriteError::NotFound);
            }
            if let Some(station) = draft.station {
                check_station(conn, station, &path)?;
            }
            let row = benefits::create(
                conn,
                &NewBenefit {
                    union_id: union.id,
                    kind: draft.kind,
                    name: draft.name.as_str().to_owned(),
                    insurer: draft.insurer.as_ref().map(|i| i.as_str().to_owned()),
                    station_id: draft.station.map(StationId::get),
                    terms: draft.terms,
                },
                now,
            )?;
            let reason = terms_summary(&row);
            audit_benefit(conn, &admin, &row, "create_benefit", reason, now)?;
            let answer = render(&row).map_err(StoreError::broken)?;
            if let Some(key) = &key {
                idempotency::store_response(conn, key, answer.0, &answer.1)?;
            }
            Ok(answer)
        })
    })
    .await
}

/// A manager's change to a benefit, parsed; each `None` leaves the value as it is.
#[derive(Debug, Clone, Default)]
pub struct BenefitEdit {
    /// A new name.
    pub name: Option<BenefitName>,
    /// A new collection station (of the benefit union's subtree).
    pub station: Option<StationId>,
    /// A new validity, for records granted from now on (records held keep theirs).
    pub valid_days: Option<i32>,
    /// Stock added (补充库存), or withdrawn when negative — never more than remains.
    pub add_stock: Option<i64>,
}

/// 修改入会礼遇 seen at `version`: rename, move the collection point, change the validity of
/// future grants, restock. The row is locked first, so a concurrent grant waits and the
/// restock applies to the stock as it is; audited before → after.
pub async fn edit_benefit(
    ctx: &Services,
    admin: AdminActor,
    id: BenefitId,
    version: i32,
    edit: BenefitEdit,
) -> Result<BenefitRow, BenefitWriteError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let (before, path) =
                benefits::find_for_update(conn, id.get())?.ok_or(BenefitWriteError::NotFound)?;
            let path =
                UnionPath::parse(&path).map_err(|_| StoreError::broken("benefit union path"))?;
            if !admin.union_path.contains(&path) {
                return Err(BenefitWriteError::NotFound);
            }
            if before.version != version {
                return Err(BenefitWriteError::Stale);
            }
            if let Some(station) = edit.station {
                check_station(conn, station, &path)?;
            }
            let stock = match edit.add_stock {
                Some(add) => BenefitTerms::restock(before.stock, add)?,
                None => before.stock,
            };
            let changes = BenefitChanges {
                name: edit
                    .name
                    .map_or_else(|| before.name.clone(), |n| n.as_str().to_owned()),
                station_id: edit.station.map(StationId::get).or(before.station_id),
                valid_days: edit.valid_days.unwrap_or(before.valid_days),
                stock,
            };
            let after =
                benefits::update(conn, &before, &changes, now)?.ok_or(BenefitWriteError::Stale)?;
            let change = format!("{} → {}", terms_summary(&before), terms_summary(&after));
            audit_benefit(conn, &admin, &after, "edit_benefit", change, now)?;
            Ok(after)
        })
    })
    .await
}

/// One page of the benefits configured in the admin's subtree, by id, after `after`: at most
/// `limit`, and whether more follow.
pub async fn list_benefits(
    ctx: &Services,
    scope: UnionPath,
    after: Option<i64>,
    limit: i64,
) -> Result<(Vec<BenefitRow>, bool), StoreError> {
    db::run(&ctx.pool, move |conn| {
        let mut rows = benefits::in_subtree(conn, &scope, after, limit + 1)?;
        let limit = usize::try_from(limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        Ok((rows, more))
    })
    .await
}

/// Inside the approval's transaction: grants the new member every in-stock benefit of their
/// union (at `path`) and its ancestors — one statement — and, when any, enqueues the notice
/// (`member.benefits_granted`, routed to the member: template `benefits_granted`).
pub fn grant_on_approval(
    conn: &mut PgConnection,
    member: &MemberRow,
    path: &UnionPath,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let granted = benefits::grant_on_approval(conn, member.id, member.application_id, path, now)?;
    if !granted.is_empty() {
        // The notice quotes what was received (`{benefits}`, `{count}` in its template).
        let names = benefits::names(conn, &granted)?.join("、");
        outbox::enqueue(
            conn,
            OutboxEvent::MemberBenefitsGranted,
            &member.id.to_string(),
            &serde_json::json!({
                "member_id": member.id,
                "account_id": member.account_id,
                "union_id": member.union_id,
                "benefit_ids": granted,
                "benefits": names,
                "count": granted.len(),
            }),
            now,
        )?;
    }
    Ok(granted)
}

/// 我的权益: every benefit record of the worker's membership.
pub async fn my_benefits(
    ctx: &Services,
    account: AccountId,
) -> Result<Vec<HeldBenefit>, MyBenefitsError> {
    db::run(&ctx.pool, move |conn| {
        let (member, _) =
            members::find_for_account(conn, account)?.ok_or(MyBenefitsError::NotAMember)?;
        Ok(benefits::of_member(conn, member.id)?)
    })
    .await
}

/// A redemption done.
#[derive(Debug, Clone)]
pub struct Redeemed {
    /// The record, now used.
    pub record: MemberBenefitRow,
    /// Its benefit.
    pub benefit: BenefitRow,
    /// The member's number.
    pub membership_number: String,
    /// The station.
    pub station_id: i64,
    /// Its name.
    pub station_name: String,
}

/// 核销: station staff redeem `benefit` for the holder of a verified card, `member`, at their
/// own station — once: of two concurrent scans exactly one wins, the other hears when and where.
pub async fn redeem_benefit(
    ctx: &Services,
    admin: AdminActor,
    member: MemberId,
    benefit: BenefitId,
) -> Result<Redeemed, RedeemError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let station_id =
                stations::of_admin(conn, admin.admin_id)?.ok_or(RedeemError::NotStationStaff)?;
            let (station, station_union) =
                stations::find_with_union(conn, station_id)?.ok_or(RedeemError::NotStationStaff)?;
            if station.closed_at.is_some() {
                return Err(RedeemError::StationClosed);
            }
            let (holder, _) =
                members::find(conn, member.as_uuid())?.ok_or(RedeemError::UnknownMember)?;
            holder
                .status
                .show_card()
                .map_err(RedeemError::MembershipEnded)?;
            let (record, row, used_at_station) =
                benefits::held(conn, holder.id, benefit.get())?.ok_or(RedeemError::NotHeld)?;
            explain(&record, used_at_station, now)?;
            let (_, benefit_union_path) =
                benefits::find(conn, row.id)?.ok_or(RedeemError::NotHeld)?;
            let reach = UnionPath::parse(&benefit_union_path)
                .map_err(|_| StoreError::broken("benefit union path"))?;
            let at_right_station = match row.station_id {
                Some(only) => only == station.id,
                None => reach.contains(&station_union.union_path()?),
            };
            if !at_right_station {
                return Err(RedeemError::OtherStation);
            }
            let Some(used) = benefits::mark_used(conn, record.id, station.id, admin.admin_id, now)?
            else {
                // Another scan won between the read and the write: say when and where.
                let (again, _, name) =
                    benefits::held(conn, holder.id, benefit.get())?.ok_or(RedeemError::NotHeld)?;
                explain(&again, name, now)?;
                return Err(RedeemError::Expired);
            };
            audit::record(
                conn,
                &AuditEntry {
                    at: now,
                    actor: &admin.audit_actor(),
                    object_kind: "member",
                    object_id: holder.id.to_string(),
                    action: "redeem_benefit",
                    reason: Some(format!(
                        "权益{}（{}）于站点{}（{}）核销",
                        row.id, row.name, station.id, station.name
                    )),
                },
            )?;
            log::info!(
                member_id:% = holder.id,
                benefit_id = row.id,
                station_id = station.id;
                "benefit redeemed"
            );
            Ok(Redeemed {
                record: used,
                benefit: row,
                membership_number: holder.membership_number,
                station_id: station.id,
                station_name: station.name,
            })
        })
    })
    .await
}

/// The refusal of a record that cannot be used now.
fn explain(
    record: &MemberBenefitRow,
    station: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), RedeemError> {
    match record.record().redeem(now) {
        Ok(()) => Ok(()),
        Err(RedeemRefusal::AlreadyUsed(at)) => Err(RedeemError::AlreadyUsed {
            at,
            station: station.unwrap_or_default(),
        }),
        Err(RedeemRefusal::Expired) => Err(RedeemError::Expired),
    }
}

/// One page of a station's redemptions.
#[derive(Debug, Clone)]
pub struct RedemptionPage {
    /// Newest first.
    pub items: Vec<Redemption>,
    /// Whether more follow.
    pub more: bool,
}

/// Who reads a station's redemptions.
#[derive(Debug, Clone)]
pub enum RedemptionsReader {
    /// Station staff: only their own station.
    Staff(AdminActor),
    /// Another admin: stations of their subtree.
    Admin(AdminActor),
}

/// 核销记录 of station `station`, newest first, after `(used_at, id)`.
pub async fn station_redemptions(
    ctx: &Services,
    reader: RedemptionsReader,
    station: StationId,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<RedemptionPage, RedemptionsError> {
    db::run(&ctx.pool, move |conn| {
        let (row, union) =
            stations::find_with_union(conn, station.get())?.ok_or(RedemptionsError::NotFound)?;
        let allowed = match &reader {
            RedemptionsReader::Staff(admin) => {
                stations::of_admin(conn, admin.admin_id)? == Some(row.id)
            }
            RedemptionsReader::Admin(admin) => admin.union_path.contains(&union.union_path()?),
        };
        if !allowed {
            return Err(RedemptionsError::NotFound);
        }
        let mut items = benefits::redemptions(conn, row.id, after, limit + 1)?;
        let more = items.len() > usize::try_from(limit).unwrap_or(0);
        items.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(RedemptionPage { items, more })
    })
    .await
}
