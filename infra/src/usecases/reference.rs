//! Reference data for forms and cards: regions and their children, and the public card of a
//! union.

use zhijian_domain::ids::UnionId;
use zhijian_domain::routing::UnionKind;

use crate::db::{self, StoreError};
use crate::store::regions::{self, RegionRow};
use crate::store::unions::{self, UnionRow};
use crate::usecases::Services;

/// The region with statistical code `code`, if known.
pub async fn find_region(ctx: &Services, code: String) -> Result<Option<RegionRow>, StoreError> {
    db::run(&ctx.pool, move |conn| regions::find(conn, &code)).await
}

/// A region and the regions directly under it (ordered by code), if the region is known.
pub async fn region_children(
    ctx: &Services,
    code: String,
) -> Result<Option<(RegionRow, Vec<RegionRow>)>, StoreError> {
    db::run(&ctx.pool, move |conn| {
        let Some(region) = regions::find(conn, &code)? else {
            return Ok(None);
        };
        let children = regions::children(conn, &code)?;
        Ok(Some((region, children)))
    })
    .await
}

/// What anyone may know about a union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionCard {
    /// The union.
    pub union: UnionRow,
    /// Its kind.
    pub kind: UnionKind,
    /// The region it serves.
    pub region: RegionRow,
    /// The union above; `None` for a root.
    pub parent: Option<UnionRow>,
}

/// The public card of union `id`; `None` when there is no such union. A union whose kind or
/// region is broken is an internal error, not a missing union.
pub async fn union_card(ctx: &Services, id: UnionId) -> Result<Option<UnionCard>, StoreError> {
    db::run(&ctx.pool, move |conn| {
        let Some(union) = unions::find(conn, id)? else {
            return Ok(None);
        };
        let region = regions::find(conn, &union.region_code)?;
        let parent = match union.parent_id {
            Some(parent) => unions::find(conn, UnionId::new(parent))?,
            None => None,
        };
        let kind = union.kind;
        // The foreign key keeps the region; its absence is a broken invariant, not a 404.
        let region = region
            .ok_or_else(|| StoreError::broken(format!("union {} has no region row", union.id)))?;
        Ok(Some(UnionCard {
            union,
            kind,
            region,
            parent,
        }))
    })
    .await
}
