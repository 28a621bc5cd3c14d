//! Reading the tree as an admin: one union, or a page of a subtree (children of a union, a
//! name search, a region) by id.

use zhijian_domain::admin::UnionPath;
use zhijian_domain::ids::UnionId;

use crate::db::{self, StoreError};
use crate::store::union_admin::{self, UnionDetail, UnionFilter};
use crate::store::unions;
use crate::usecases::Services;

/// Why a union or a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UnionReadError {
    /// No such union in the caller's subtree.
    #[error("not found")]
    NotFound,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of unions.
#[derive(Debug, Clone)]
pub struct UnionPage {
    /// By id.
    pub items: Vec<UnionDetail>,
    /// Whether more follow the last one.
    pub more: bool,
}

/// Union `id`, if it lies in the subtree `scope`.
pub async fn show_union(
    ctx: &Services,
    scope: UnionPath,
    id: UnionId,
) -> Result<UnionDetail, UnionReadError> {
    db::run(&ctx.pool, move |conn| {
        let row = unions::find(conn, id)?.ok_or(UnionReadError::NotFound)?;
        if !scope.contains(&row.union_path()?) {
            return Err(UnionReadError::NotFound);
        }
        union_admin::details(conn, vec![row])?
            .pop()
            .ok_or(UnionReadError::NotFound)
    })
    .await
}

/// A page of the unions of the subtree `scope` that match `filter`. Without a parent, a name
/// or a region, the children of the caller's own union; a parent outside the subtree is not
/// found.
pub async fn list_unions(
    ctx: &Services,
    scope: UnionPath,
    mut filter: UnionFilter,
) -> Result<UnionPage, UnionReadError> {
    if filter.parent.is_none() && filter.name.is_none() && filter.region.is_none() {
        filter.parent = Some(scope.union());
    }
    db::run(&ctx.pool, move |conn| {
        if let Some(parent) = filter.parent {
            let row = unions::find(conn, parent)?.ok_or(UnionReadError::NotFound)?;
            if !scope.contains(&row.union_path()?) {
                return Err(UnionReadError::NotFound);
            }
        }
        let mut rows = union_admin::list(conn, &scope, &filter)?;
        let more = rows.len() > usize::try_from(filter.limit).unwrap_or(usize::MAX);
        rows.truncate(usize::try_from(filter.limit).unwrap_or(usize::MAX));
        Ok(UnionPage {
            items: union_admin::details(conn, rows)?,
            more,
        })
    })
    .await
}
