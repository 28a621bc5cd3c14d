//! The reads of transfers: the member's, an admin's lists and look-ups, the open one of a
//! member, and those due for auto-release — each loaded with its member and unions.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::calendar::WorkingCalendar;
use zhijian_domain::ids::{AccountId, TransferId};
use zhijian_domain::transfer::{SOURCE_SILENCE_WORKING_DAYS, TransferStatus, auto_release_at};

use super::{TransferDetail, TransferRow, load_row, sides};
use crate::db::StoreError;
use crate::db::schema::{members as members_table, transfers, unions};
use crate::store::member_lifecycle::OPEN_TRANSFER;
use crate::store::members::MemberRow;
use crate::store::unions::UnionRow;

/// Loads the members and unions of `rows`, in order; `calendar` dates the source's deadline.
pub fn details(
    conn: &mut PgConnection,
    rows: Vec<TransferRow>,
    calendar: &WorkingCalendar,
) -> Result<Vec<TransferDetail>, StoreError> {
    let union_ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r.from_union_id, r.to_union_id])
        .collect();
    let member_ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.member_id).collect();
    let unions: HashMap<i64, UnionRow> = unions::table
        .filter(unions::id.eq_any(union_ids))
        .select(UnionRow::as_select())
        .load::<UnionRow>(conn)?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let members: HashMap<uuid::Uuid, MemberRow> = members_table::table
        .filter(members_table::id.eq_any(member_ids))
        .select(MemberRow::as_select())
        .load::<MemberRow>(conn)?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    rows.into_iter()
        .map(|transfer| {
            let missing =
                || StoreError::broken(format!("transfer {} lost a reference", transfer.id));
            let from = unions
                .get(&transfer.from_union_id)
                .cloned()
                .ok_or_else(missing)?;
            let to = unions
                .get(&transfer.to_union_id)
                .cloned()
                .ok_or_else(missing)?;
            let member = members
                .get(&transfer.member_id)
                .cloned()
                .ok_or_else(missing)?;
            let release_due_at = (transfer.status() == TransferStatus::Requested)
                .then(|| auto_release_at(transfer.requested_at, calendar));
            Ok(TransferDetail {
                transfer,
                member,
                from,
                to,
                release_due_at,
            })
        })
        .collect()
}

/// The transfers of an account's member, newest first.
pub fn list_for_account(
    conn: &mut PgConnection,
    account: AccountId,
    calendar: &WorkingCalendar,
) -> Result<Vec<TransferDetail>, StoreError> {
    let rows = transfers::table
        .inner_join(members_table::table)
        .filter(members_table::account_id.eq(account.as_uuid()))
        .order((transfers::requested_at.desc(), transfers::id.desc()))
        .select(TransferRow::as_select())
        .limit(100)
        .load(conn)?;
    details(conn, rows, calendar)
}

/// One transfer of an account's member.
pub fn find_for_account(
    conn: &mut PgConnection,
    id: TransferId,
    account: AccountId,
    calendar: &WorkingCalendar,
) -> Result<Option<TransferDetail>, StoreError> {
    let row = transfers::table
        .inner_join(members_table::table)
        .filter(transfers::id.eq(id.as_uuid()))
        .filter(members_table::account_id.eq(account.as_uuid()))
        .select(TransferRow::as_select())
        .first(conn)
        .optional()?;
    Ok(details(conn, row.into_iter().collect(), calendar)?.pop())
}

/// One transfer, if the admin's subtree holds either side.
pub fn find_for_admin(
    conn: &mut PgConnection,
    id: TransferId,
    scope: &UnionPath,
    calendar: &WorkingCalendar,
) -> Result<Option<TransferDetail>, StoreError> {
    let Some(row) = load_row(conn, id)? else {
        return Ok(None);
    };
    let Some(detail) = details(conn, vec![row], calendar)?.pop() else {
        return Ok(None);
    };
    let sides = sides(&detail.from, &detail.to, scope)?;
    Ok((sides.source || sides.target).then_some(detail))
}

/// Which transfers an admin lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Leaving unions of the subtree (to release or refuse).
    Out,
    /// Arriving at unions of the subtree (to accept or refuse).
    In,
}

/// The admin's list: filters and the keyset position after which to continue.
#[derive(Debug, Clone)]
pub struct ListFilter {
    /// Out of or into the subtree.
    pub direction: Direction,
    /// Only this status (default: every status).
    pub status: Option<TransferStatus>,
    /// Continue after this `(requested_at, id)`.
    pub after: Option<(DateTime<Utc>, uuid::Uuid)>,
    /// Page size.
    pub limit: i64,
}

/// Transfers out of or into the subtree under `scope`, oldest request first (the source's
/// deadline runs from the request), keyset-paginated.
pub fn list_for_admin(
    conn: &mut PgConnection,
    scope: &UnionPath,
    filter: &ListFilter,
    calendar: &WorkingCalendar,
) -> Result<Vec<TransferDetail>, StoreError> {
    let subtree = unions::table
        .filter(unions::path.like(format!("{scope}%")))
        .select(unions::id);
    let mut query = transfers::table
        .select(TransferRow::as_select())
        .into_boxed();
    query = match filter.direction {
        Direction::Out => query.filter(transfers::from_union_id.eq_any(subtree)),
        Direction::In => query.filter(transfers::to_union_id.eq_any(subtree)),
    };
    if let Some(status) = filter.status {
        query = query.filter(transfers::status.eq(status.as_str()));
    }
    if let Some((at, id)) = filter.after {
        query = query.filter(
            transfers::requested_at
                .gt(at)
                .or(transfers::requested_at.eq(at).and(transfers::id.gt(id))),
        );
    }
    let rows = query
        .order((transfers::requested_at.asc(), transfers::id.asc()))
        .limit(filter.limit)
        .load(conn)?;
    details(conn, rows, calendar)
}

/// The open transfer of a member, if any.
pub fn open_for_member(
    conn: &mut PgConnection,
    member: uuid::Uuid,
) -> Result<Option<TransferRow>, StoreError> {
    Ok(transfers::table
        .filter(transfers::member_id.eq(member))
        .filter(transfers::status.eq_any(OPEN_TRANSFER))
        .select(TransferRow::as_select())
        .first(conn)
        .optional()?)
}

/// Transfers whose source union has been silent for [`SOURCE_SILENCE_WORKING_DAYS`] working
/// days by `now`, oldest first, at most `limit`.
///
/// Three working days are at least three calendar days, so only transfers requested that long
/// ago are read (an index range); the calendar then decides which of them are due.
pub fn due_for_auto_release(
    conn: &mut PgConnection,
    calendar: &WorkingCalendar,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<TransferId>, StoreError> {
    let earliest_due = now - TimeDelta::days(i64::from(SOURCE_SILENCE_WORKING_DAYS));
    let candidates: Vec<TransferRow> = transfers::table
        .filter(transfers::status.eq(TransferStatus::Requested.as_str()))
        .filter(transfers::requested_at.le(earliest_due))
        .order((transfers::requested_at.asc(), transfers::id.asc()))
        .limit(limit)
        .select(TransferRow::as_select())
        .load(conn)?;
    let mut due = Vec::new();
    for row in candidates {
        if row.domain()?.auto_release(now, calendar).is_ok() {
            due.push(TransferId::from_uuid(row.id));
        }
    }
    Ok(due)
}
