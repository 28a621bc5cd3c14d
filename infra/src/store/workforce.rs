//! Workforce estimates and targets (底数 and 目标) as stored: one row per union × occupation
//! group × year, each conditional on its own version.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::ids::UnionId;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::workforce::{Figures, WorkforceYear};

use crate::db::StoreError;
use crate::db::schema::{unions, workforce_estimates};
use crate::db::types::Stored;

/// One union × group × year as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = workforce_estimates)]
pub struct EstimateRow {
    pub union_id: i64,
    #[diesel(deserialize_as = Stored<OccupationGroup>)]
    pub occupation: OccupationGroup,
    pub year: i32,
    pub estimate: i64,
    pub target: Option<i64>,
    pub source: String,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<uuid::Uuid>,
}

impl EstimateRow {
    /// Whether the row already holds `figures`.
    pub fn holds(&self, figures: &Figures) -> bool {
        self.estimate == figures.estimate
            && self.target == figures.target
            && self.source == figures.source.as_str()
    }
}

/// The rows of union `union` for `year`, in the order of the groups' list; locked until the
/// commit when `lock` (so two writers of one union run one after the other).
pub fn of_union(
    conn: &mut PgConnection,
    union: UnionId,
    year: WorkforceYear,
    lock: bool,
) -> Result<Vec<EstimateRow>, StoreError> {
    let query = workforce_estimates::table
        .filter(workforce_estimates::union_id.eq(union.get()))
        .filter(workforce_estimates::year.eq(year.get()))
        .select(EstimateRow::as_select());
    let mut rows = if lock {
        query.for_update().load(conn)?
    } else {
        query.load(conn)?
    };
    rows.sort_by_key(|r| OccupationGroup::ALL.iter().position(|g| *g == r.occupation));
    Ok(rows)
}

/// Writes one group's figures: a new row (`expected` `None`; nothing is written if one exists
/// already) or the row at version `expected` (nothing if it moved on). `None` when nothing was
/// written: the caller's version is stale.
#[expect(
    clippy::too_many_arguments,
    reason = "one row's key, its figures and who wrote it"
)]
pub fn write(
    conn: &mut PgConnection,
    union: UnionId,
    year: WorkforceYear,
    group: OccupationGroup,
    expected: Option<i32>,
    figures: &Figures,
    by: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<Option<EstimateRow>, StoreError> {
    let written = match expected {
        None => diesel::insert_into(workforce_estimates::table)
            .values((
                workforce_estimates::union_id.eq(union.get()),
                workforce_estimates::occupation.eq(group.as_str()),
                workforce_estimates::year.eq(year.get()),
                workforce_estimates::estimate.eq(figures.estimate),
                workforce_estimates::target.eq(figures.target),
                workforce_estimates::source.eq(figures.source.as_str()),
                workforce_estimates::updated_at.eq(now),
                workforce_estimates::updated_by.eq(by),
            ))
            .on_conflict_do_nothing()
            .returning(EstimateRow::as_returning())
            .get_result(conn)
            .optional()?,
        Some(version) => diesel::update(
            workforce_estimates::table
                .filter(workforce_estimates::union_id.eq(union.get()))
                .filter(workforce_estimates::occupation.eq(group.as_str()))
                .filter(workforce_estimates::year.eq(year.get()))
                .filter(workforce_estimates::version.eq(version)),
        )
        .set((
            workforce_estimates::estimate.eq(figures.estimate),
            workforce_estimates::target.eq(figures.target),
            workforce_estimates::source.eq(figures.source.as_str()),
            workforce_estimates::version.eq(version + 1),
            workforce_estimates::updated_at.eq(now),
            workforce_estimates::updated_by.eq(by),
        ))
        .returning(EstimateRow::as_returning())
        .get_result(conn)
        .optional()?,
    };
    Ok(written)
}

/// Writes one group's figures whatever is stored (an import): inserted, or updated with the
/// next version.
pub fn upsert(
    conn: &mut PgConnection,
    union: UnionId,
    year: WorkforceYear,
    group: OccupationGroup,
    figures: &Figures,
    by: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<EstimateRow, StoreError> {
    use diesel::upsert::excluded;
    Ok(diesel::insert_into(workforce_estimates::table)
        .values((
            workforce_estimates::union_id.eq(union.get()),
            workforce_estimates::occupation.eq(group.as_str()),
            workforce_estimates::year.eq(year.get()),
            workforce_estimates::estimate.eq(figures.estimate),
            workforce_estimates::target.eq(figures.target),
            workforce_estimates::source.eq(figures.source.as_str()),
            workforce_estimates::updated_at.eq(now),
            workforce_estimates::updated_by.eq(by),
        ))
        .on_conflict((
            workforce_estimates::union_id,
            workforce_estimates::occupation,
            workforce_estimates::year,
        ))
        .do_update()
        .set((
            workforce_estimates::estimate.eq(excluded(workforce_estimates::estimate)),
            workforce_estimates::target.eq(excluded(workforce_estimates::target)),
            workforce_estimates::source.eq(excluded(workforce_estimates::source)),
            workforce_estimates::version.eq(workforce_estimates::version + 1),
            workforce_estimates::updated_at.eq(excluded(workforce_estimates::updated_at)),
            workforce_estimates::updated_by.eq(excluded(workforce_estimates::updated_by)),
        ))
        .returning(EstimateRow::as_returning())
        .get_result(conn)?)
}

/// A union named by a sheet: its id, path and credit code.
#[derive(Debug, Clone, Queryable)]
pub struct NamedUnion {
    pub id: i64,
    pub path: String,
    pub credit_code: Option<String>,
}

/// The unions with these ids, and the open unions with these credit codes.
pub fn named_unions(
    conn: &mut PgConnection,
    ids: &[i64],
    credit_codes: &[String],
) -> Result<Vec<NamedUnion>, StoreError> {
    Ok(unions::table
        .filter(
            unions::id.eq_any(ids).or(unions::credit_code
                .eq_any(credit_codes)
                .and(unions::closed_at.is_null())),
        )
        .select((unions::id, unions::path, unions::credit_code))
        .load(conn)?)
}
