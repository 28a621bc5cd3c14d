//! `edit_union`: rename, review hours, coverage, occupation groups, and whether the union takes
//! applications — conditional on the version the manager saw, audited before → after.
//!
//! New review hours apply to applications routed from then on: a deadline already given is
//! stored with its application and never moves.

use diesel::Connection;
use zhijian_domain::admin::AdminRole;
use zhijian_domain::ids::UnionId;
use zhijian_domain::region::RegionCode;
use zhijian_domain::union_admin::{MayNotManageUnions, UnionEdit, UnionManager, UnionRuleError};

use super::{UnknownRegion, check_regions, hours_text, store_errors};
use crate::db::{self, StoreError};
use crate::store::applications::AdminActor;
use crate::store::audit::{self, AuditEntry};
use crate::store::union_admin::{self, UnionChanges, UnionDetail};
use crate::store::unions::{self, UnionRow, coverage_of, replace_coverage};
use crate::usecases::Services;

/// Why a union could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditUnionError {
    /// The caller's role may not manage unions.
    #[error(transparent)]
    Forbidden(#[from] MayNotManageUnions),
    /// No such union in the caller's subtree.
    #[error("not found")]
    NotFound,
    /// The union is closed.
    #[error("closed")]
    Closed,
    /// The union changed since the manager saw it.
    #[error("stale version")]
    Stale,
    /// The edit breaks a rule of the union's kind.
    #[error(transparent)]
    Rule(#[from] UnionRuleError),
    /// A covered region is not in the regions table.
    #[error("unknown region: {0:?}")]
    UnknownRegion(UnknownRegion),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(EditUnionError);

/// Applies `edit` to union `id`, last seen at `version`, as `admin`.
pub async fn edit_union(
    ctx: &Services,
    admin: AdminActor,
    id: UnionId,
    version: i32,
    edit: UnionEdit,
) -> Result<UnionDetail, EditUnionError> {
    let now = ctx.now();
    let reference = ctx.reference.clone();
    let role = AdminRole::parse(admin.role).map_err(|_| MayNotManageUnions)?;
    UnionManager::authorize(role)?;
    let edit = edit.normalised();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let row = union_admin::lock(conn, id)?.ok_or(EditUnionError::NotFound)?;
            if !admin.union_path.contains(&row.union_path()?) {
                return Err(EditUnionError::NotFound);
            }
            if row.closed_at.is_some() {
                return Err(EditUnionError::Closed);
            }
            if row.version != version {
                return Err(EditUnionError::Stale);
            }
            let parent_region = match row.parent_id {
                Some(parent) => unions::find(conn, UnionId::new(parent))?
                    .map(|p| p.candidate().map(|c| c.region))
                    .transpose()?,
                None => None,
            };
            edit.check_for(row.kind, parent_region.as_ref())?;
            if let Some(coverage) = &edit.coverage {
                let regions = coverage.iter().map(|r| (r, UnknownRegion::Coverage));
                check_regions(conn, &reference, regions)?.map_err(EditUnionError::UnknownRegion)?;
            }
            let before_coverage = coverage_of(conn, &[row.id])?
                .remove(&row.id)
                .unwrap_or_default();
            let changes = describe(&row, &before_coverage, &edit)?;
            if changes.is_empty() {
                return Ok(union_admin::details(conn, vec![row])?);
            }
            let hours = edit.review_hours;
            let update = UnionChanges {
                name: edit.name.as_ref().map(|n| n.as_str().to_owned()),
                review_opens: hours.map(|h| h.opens()),
                review_closes: hours.map(|h| h.closes()),
                review_cutoff: hours.map(|h| h.cutoff()),
                occupations: edit
                    .occupations
                    .as_ref()
                    .map(|o| o.iter().map(|g| g.as_str().to_owned()).collect()),
                accepting: edit.accepting,
                version: version + 1,
                updated_at: now,
            };
            let updated =
                union_admin::update(conn, id, version, &update)?.ok_or(EditUnionError::Stale)?;
            if let Some(coverage) = &edit.coverage {
                replace_coverage(conn, id, coverage)?;
            }
            audit::record(
                conn,
                &AuditEntry {
                    at: now,
                    actor: &admin.audit_actor(),
                    object_kind: "union",
                    object_id: id.to_string(),
                    action: "edit",
                    reason: Some(changes.join("；")),
                },
            )?;
            log::info!(union_id = id.get(), version = updated.version; "union edited");
            Ok(union_admin::details(conn, vec![updated])?)
        })
    })
    .await?
    .pop()
    .ok_or_else(|| EditUnionError::Store(StoreError::broken("an edited union vanished")))
}

/// What the edit changes, one `what: before → after` line per fact that differs.
fn describe(
    row: &UnionRow,
    coverage: &[String],
    edit: &UnionEdit,
) -> Result<Vec<String>, StoreError> {
    let mut lines = Vec::new();
    if let Some(name) = &edit.name
        && name.as_str() != row.name
    {
        lines.push(format!("名称：{} → {}", row.name, name));
    }
    if let Some(hours) = &edit.review_hours {
        let before = row.review_hours()?;
        if *hours != before {
            lines.push(format!(
                "办公时间：{} → {}",
                hours_text(&before),
                hours_text(hours)
            ));
        }
    }
    if let Some(after) = &edit.coverage {
        let after: Vec<&str> = after.iter().map(RegionCode::as_str).collect();
        if after != coverage {
            let list = |codes: &[&str]| {
                if codes.is_empty() {
                    format!("本地区 {}", row.region_code)
                } else {
                    codes.join("、")
                }
            };
            let before: Vec<&str> = coverage.iter().map(String::as_str).collect();
            lines.push(format!("覆盖地区：{} → {}", list(&before), list(&after)));
        }
    }
    if let Some(after) = &edit.occupations {
        let after: Vec<&str> = after.iter().map(|o| o.as_str()).collect();
        if after != row.occupations {
            lines.push(format!(
                "职业类别：{} → {}",
                row.occupations.join("、"),
                after.join("、")
            ));
        }
    }
    if let Some(accepting) = edit.accepting
        && accepting != row.accepting
    {
        let word = |a: bool| if a { "受理中" } else { "暂停受理" };
        lines.push(format!(
            "受理状态：{} → {}",
            word(row.accepting),
            word(accepting)
        ));
    }
    Ok(lines)
}
