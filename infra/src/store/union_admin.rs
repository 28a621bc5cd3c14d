//! The admin side of the union tree: what an admin's view of a union shows (its region,
//! parent, coverage and successor by name), the listings of a subtree (children, name search,
//! region), and the conditional edit.

use std::collections::HashMap;

use chrono::{DateTime, NaiveTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::ids::UnionId;
use zhijian_domain::region::RegionCode;
use zhijian_domain::union_admin::NameQuery;

use crate::db::StoreError;
use crate::db::schema::{regions, union_coverage, unions};
use crate::store::unions::{UnionRow, coverage_of};

/// A union named in another one's view (its parent, its successor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedUnion {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A region with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRegion {
    /// Statistical code.
    pub code: String,
    /// Official name.
    pub name: String,
}

/// A union as its admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionDetail {
    /// The row.
    pub union: UnionRow,
    /// Its region.
    pub region: NamedRegion,
    /// The union above; `None` for a root.
    pub parent: Option<NamedUnion>,
    /// The regions a joint union covers instead of its own; empty: its own region.
    pub coverage: Vec<NamedRegion>,
    /// The union that took over, once closed.
    pub successor: Option<NamedUnion>,
}

/// The views of `rows`, in their order: four statements whatever their number.
pub fn details(
    conn: &mut PgConnection,
    rows: Vec<UnionRow>,
) -> Result<Vec<UnionDetail>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut coverage = coverage_of(conn, &ids)?;
    let mut codes: Vec<String> = rows.iter().map(|r| r.region_code.clone()).collect();
    codes.extend(coverage.values().flatten().cloned());
    let region_names: HashMap<String, String> = regions::table
        .filter(regions::code.eq_any(&codes))
        .select((regions::code, regions::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let others: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r.parent_id, r.successor_id])
        .flatten()
        .collect();
    let union_names: HashMap<i64, String> = unions::table
        .filter(unions::id.eq_any(&others))
        .select((unions::id, unions::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let region = |code: &str| -> Result<NamedRegion, StoreError> {
        let name = region_names
            .get(code)
            .ok_or_else(|| StoreError::broken(format!("region {code} of a union is missing")))?;
        Ok(NamedRegion {
            code: code.to_owned(),
            name: name.clone(),
        })
    };
    let named = |id: Option<i64>| {
        id.and_then(|id| {
            union_names.get(&id).map(|name| NamedUnion {
                id,
                name: name.clone(),
            })
        })
    };
    rows.into_iter()
        .map(|union| {
            let covered = coverage
                .remove(&union.id)
                .unwrap_or_default()
                .iter()
                .map(|code| region(code))
                .collect::<Result<_, _>>()?;
            Ok(UnionDetail {
                region: region(&union.region_code)?,
                parent: named(union.parent_id),
                successor: named(union.successor_id),
                coverage: covered,
                union,
            })
        })
        .collect()
}

/// Which unions of a subtree to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionFilter {
    /// Only the children of this union.
    pub parent: Option<UnionId>,
    /// Only unions whose name matches.
    pub name: Option<NameQuery>,
    /// Only unions of a region inside this one, or covering one.
    pub region: Option<RegionCode>,
    /// Only unions after this id (the keyset of the previous page).
    pub after: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// The unions of the subtree `scope` that match `filter`, by id, at most `limit + 1` (one more
/// tells the caller there is a next page).
///
/// A name of three characters or more is searched anywhere in the name through the trigram
/// index `unions_name_trgm_idx`; a two-character name matches the start of names, which the
/// same index serves. A region is a code range on `region_code` (or on the coverage table):
/// codes are digits, so everything inside region `p` lies in `[p, p || ':')`.
pub fn list(
    conn: &mut PgConnection,
    scope: &UnionPath,
    filter: &UnionFilter,
) -> Result<Vec<UnionRow>, StoreError> {
    let mut query = unions::table
        .filter(unions::path.ge(scope.to_string()))
        .filter(unions::path.lt(scope.subtree_end()))
        .select(UnionRow::as_select())
        .order(unions::id.asc())
        .limit(filter.limit + 1)
        .into_boxed();
    if let Some(parent) = filter.parent {
        query = query.filter(unions::parent_id.eq(parent.get()));
    }
    if let Some(name) = &filter.name {
        query = query.filter(unions::name.like(name.like_pattern()));
    }
    if let Some(region) = &filter.region {
        let (from, to) = (region.as_str().to_owned(), format!("{}:", region.as_str()));
        let covering = union_coverage::table
            .filter(union_coverage::region_code.ge(from.clone()))
            .filter(union_coverage::region_code.lt(to.clone()))
            .select(union_coverage::union_id);
        query = query.filter(
            unions::region_code
                .ge(from)
                .and(unions::region_code.lt(to))
                .or(unions::id.eq_any(covering)),
        );
    }
    if let Some(after) = filter.after {
        query = query.filter(unions::id.gt(after));
    }
    Ok(query.load(conn)?)
}

/// Inside an open transaction: the union, locked until the transaction ends.
pub fn lock(conn: &mut PgConnection, id: UnionId) -> Result<Option<UnionRow>, StoreError> {
    Ok(unions::table
        .find(id.get())
        .select(UnionRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// Whether an open union already holds this credit code.
pub fn credit_code_taken(conn: &mut PgConnection, code: &str) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        unions::table
            .filter(unions::credit_code.eq(code))
            .filter(unions::closed_at.is_null()),
    ))
    .get_result(conn)?)
}

/// Whether the county already has an open pool.
pub fn pool_exists(conn: &mut PgConnection, region: &RegionCode) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        unions::table
            .filter(unions::kind.eq("pool"))
            .filter(unions::region_code.eq(region.as_str()))
            .filter(unions::closed_at.is_null()),
    ))
    .get_result(conn)?)
}

/// The columns an edit sets; `None` leaves one as it is.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = unions)]
pub struct UnionChanges {
    /// Name.
    pub name: Option<String>,
    /// Opening time.
    pub review_opens: Option<NaiveTime>,
    /// Closing time.
    pub review_closes: Option<NaiveTime>,
    /// Cut-off.
    pub review_cutoff: Option<NaiveTime>,
    /// Occupation groups.
    pub occupations: Option<Vec<String>>,
    /// Whether it takes applications.
    pub accepting: Option<bool>,
    /// The next version.
    pub version: i32,
    /// When.
    pub updated_at: DateTime<Utc>,
}

/// Inside an open transaction: applies `changes` if the union is still at `version` and open;
/// `None` when it is not.
pub fn update(
    conn: &mut PgConnection,
    id: UnionId,
    version: i32,
    changes: &UnionChanges,
) -> Result<Option<UnionRow>, StoreError> {
    Ok(diesel::update(
        unions::table
            .filter(unions::id.eq(id.get()))
            .filter(unions::version.eq(version))
            .filter(unions::closed_at.is_null()),
    )
    .set(changes)
    .returning(UnionRow::as_returning())
    .get_result(conn)
    .optional()?)
}
