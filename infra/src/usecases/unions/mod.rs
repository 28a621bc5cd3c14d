//! The federation's own union tree: create a union, edit it (name, review hours, coverage,
//! occupation groups, whether it takes applications), show one, list and search a subtree.
//!
//! Writes are for managers of a union above the one written (its subtree); outside the
//! caller's subtree a union does not exist for them. Routing reads the tree from PostgreSQL on
//! every submission (`store::unions::route`, no cache), so a change takes effect for the next
//! submission on every server instance.

pub mod close;
mod create;
mod edit;
pub mod moving;
mod read;

pub use create::{By, CreateUnionError, create_union, create_union_in};
pub use edit::{EditUnionError, edit_union};
pub use read::{UnionPage, UnionReadError, list_unions, show_union};

use zhijian_domain::admin::AdminRole;
use zhijian_domain::union_change::{self, MayNotReorganise};

use crate::store::applications::AdminActor;
use crate::usecases::store_errors;

/// Whether `admin`'s role may close and move unions.
fn may_reorganise(admin: &AdminActor) -> Result<(), MayNotReorganise> {
    let role = AdminRole::parse(admin.role).map_err(|_| MayNotReorganise)?;
    union_change::may_reorganise(role)
}

/// Which region of a request is not in the regions table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownRegion {
    /// The union's own region.
    Region,
    /// A region of its coverage list.
    Coverage,
}

/// Checks that every region exists (the cache remembers the ones seen).
fn check_regions<'a>(
    conn: &mut diesel::pg::PgConnection,
    reference: &crate::store::reference_cache::ReferenceCache,
    regions: impl IntoIterator<Item = (&'a zhijian_domain::region::RegionCode, UnknownRegion)>,
) -> Result<Result<(), UnknownRegion>, crate::db::StoreError> {
    for (region, which) in regions {
        if !reference.region_exists(conn, region)? {
            return Ok(Err(which));
        }
    }
    Ok(Ok(()))
}

/// Review hours as the audit trail writes them: `09:00–18:00（16:00 截止）`.
fn hours_text(hours: &zhijian_domain::deadline::ReviewHours) -> String {
    format!(
        "{}–{}（{} 截止）",
        hours.opens().format("%H:%M"),
        hours.closes().format("%H:%M"),
        hours.cutoff().format("%H:%M")
    )
}
