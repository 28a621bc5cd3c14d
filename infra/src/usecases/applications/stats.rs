//! `review_stats`: the same-day review figures of a union's subtree and of each child.

use chrono::NaiveDate;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::ids::UnionId;

use super::errors::StatsError;
use crate::store::review_stats::{self, ReviewFigures};
use crate::usecases::Services;

/// The figures of union `union`'s subtree and of each child's, over the Beijing days
/// `from..=to`; not found when the union does not exist or lies outside `scope`.
pub async fn review_stats(
    ctx: &Services,
    scope: UnionPath,
    union: UnionId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(ReviewFigures, Vec<ReviewFigures>), StatsError> {
    let now = ctx.now();
    crate::db::run(&ctx.pool, move |conn| {
        let Some(union) = crate::store::unions::find(conn, union)? else {
            return Err(StatsError::NotFound);
        };
        if !UnionPath::parse(&union.path).is_ok_and(|path| scope.contains(&path)) {
            return Err(StatsError::NotFound);
        }
        review_stats::subtree_figures(conn, union.id, from, to, now)?.ok_or(StatsError::NotFound)
    })
    .await
}
