//! `create_union`: a child union under a federation of the caller's subtree, idempotent under
//! `Idempotency-Key`, audited. The demo county is built through [`create_union_in`] too.

use chrono::{DateTime, Utc};
use diesel::Connection;
use diesel::pg::PgConnection;
use zhijian_domain::admin::AdminRole;
use zhijian_domain::ids::UnionId;
use zhijian_domain::routing::UnionKind;
use zhijian_domain::union_admin::{
    MayNotManageUnions, ParentUnion, UnionDraft, UnionManager, UnionRuleError,
};

use super::{UnknownRegion, check_regions, store_errors};
use crate::db::{self, StoreError};
use crate::store::applications::AdminActor;
use crate::store::audit::{self, AuditEntry};
use crate::store::idempotency::{self, Answer, IdempotencyKey};
use crate::store::reference_cache::ReferenceCache;
use crate::store::union_admin::{self, UnionDetail};
use crate::store::unions::{self, NewUnion};
use crate::usecases::Services;

/// Why a union could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUnionError {
    /// The caller's role may not manage unions.
    #[error(transparent)]
    Forbidden(#[from] MayNotManageUnions),
    /// The parent does not exist or lies outside the caller's subtree.
    #[error("parent not found")]
    NotFound,
    /// The parent is closed.
    #[error("parent closed")]
    ParentClosed,
    /// The union breaks a rule of its kind.
    #[error(transparent)]
    Rule(#[from] UnionRuleError),
    /// A region is not in the regions table.
    #[error("unknown region: {0:?}")]
    UnknownRegion(UnknownRegion),
    /// An open union already holds the credit code.
    #[error("credit code taken")]
    CreditCodeTaken,
    /// The county already has an open pool.
    #[error("pool exists")]
    PoolExists,
    /// The idempotency key was used before with another request.
    #[error("idempotency key reused")]
    KeyReused,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(CreateUnionError);

/// Who creates a union.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    /// An admin, inside their subtree, if their role may manage unions.
    Admin(&'a AdminActor),
    /// The system itself: `zhijian-dev seed-demo` building the demo county (no audit row).
    System,
}

/// Creates `draft` under `parent` as `admin`; `render` builds the answer — the one a retry
/// with the same `key` gets back — from the union as created.
pub async fn create_union(
    ctx: &Services,
    admin: AdminActor,
    parent: UnionId,
    draft: UnionDraft,
    key: Option<IdempotencyKey>,
    render: impl FnOnce(&UnionDetail) -> Result<Answer, String> + Send + 'static,
) -> Result<Answer, CreateUnionError> {
    let now = ctx.now();
    let reference = ctx.reference.clone();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            if let Some(key) = &key {
                match idempotency::claim(conn, key)? {
                    Err(_) => return Err(CreateUnionError::KeyReused),
                    Ok(Some(replay)) => return Ok(replay),
                    Ok(None) => {}
                }
            }
            let by = By::Admin(&admin);
            let detail = create_union_in(conn, &reference, by, Some(parent), draft, now)?;
            let answer = render(&detail).map_err(StoreError::broken)?;
            if let Some(key) = &key {
                idempotency::store_response(conn, key, answer.0, &answer.1)?;
            }
            Ok(answer)
        })
    })
    .await
}

/// Inside an open transaction: checks `draft` against its parent and the stored tree, writes
/// the union, its coverage and its audit row, and returns its view. The one way a union is
/// created (the API and the demo alike).
pub fn create_union_in(
    conn: &mut PgConnection,
    reference: &ReferenceCache,
    by: By<'_>,
    parent: Option<UnionId>,
    draft: UnionDraft,
    now: DateTime<Utc>,
) -> Result<UnionDetail, CreateUnionError> {
    if let By::Admin(admin) = by {
        let role = AdminRole::parse(admin.role).map_err(|_| MayNotManageUnions)?;
        UnionManager::authorize(role)?;
    }
    let draft = draft.normalised();
    match parent {
        Some(parent) => check_parent(conn, by, parent, &draft)?,
        // A root comes from the command line only: no admin is above it.
        None if matches!(by, By::Admin(_)) => return Err(CreateUnionError::NotFound),
        None => draft.check_as_root()?,
    }
    let regions = std::iter::once((&draft.region, UnknownRegion::Region))
        .chain(draft.coverage.iter().map(|r| (r, UnknownRegion::Coverage)));
    check_regions(conn, reference, regions)?.map_err(CreateUnionError::UnknownRegion)?;
    if let Some(code) = &draft.credit_code
        && union_admin::credit_code_taken(conn, code.as_str())?
    {
        return Err(CreateUnionError::CreditCodeTaken);
    }
    if draft.kind == UnionKind::Pool && union_admin::pool_exists(conn, &draft.region)? {
        return Err(CreateUnionError::PoolExists);
    }
    let summary = summary(&draft);
    let new = NewUnion {
        name: draft.name.into_string(),
        kind: draft.kind,
        parent,
        region: draft.region,
        credit_code: draft.credit_code,
        occupations: draft.occupations,
        priority: 0,
        review_hours: draft.review_hours,
        coverage: draft.coverage,
    };
    let row = unions::create_union(conn, &new).map_err(|e| match e {
        StoreError::Conflict(c) if c == "unions_credit_code_open" => {
            CreateUnionError::CreditCodeTaken
        }
        StoreError::Conflict(c) if c == "unions_pool_per_region" => CreateUnionError::PoolExists,
        other => CreateUnionError::Store(other),
    })?;
    // An admin's act is audited. The system's own set-up (the demo county of
    // `zhijian-dev seed-demo`) is no act of anyone and leaves no row: a database seeded with
    // the demo still reverts to the migrations released before unions were objects of the
    // trail.
    if let By::Admin(admin) = by {
        audit::record(
            conn,
            &AuditEntry {
                at: now,
                actor: &admin.audit_actor(),
                object_kind: "union",
                object_id: row.id.to_string(),
                action: "create",
                reason: Some(summary),
            },
        )?;
    }
    log::info!(union_id = row.id, kind = row.kind.as_str(); "union created");
    union_admin::details(conn, vec![row])?
        .pop()
        .ok_or_else(|| CreateUnionError::Store(StoreError::broken("a created union vanished")))
}

/// The parent exists, lies in the admin's subtree, is open, and may hold `draft`.
fn check_parent(
    conn: &mut PgConnection,
    by: By<'_>,
    parent: UnionId,
    draft: &UnionDraft,
) -> Result<(), CreateUnionError> {
    let parent_row = union_admin::lock(conn, parent)?.ok_or(CreateUnionError::NotFound)?;
    if let By::Admin(admin) = by
        && !admin.union_path.contains(&parent_row.union_path()?)
    {
        return Err(CreateUnionError::NotFound);
    }
    if parent_row.closed_at.is_some() {
        return Err(CreateUnionError::ParentClosed);
    }
    let parent_facts = ParentUnion {
        id: parent_row.union_id(),
        kind: parent_row.kind,
        region: parent_row.candidate()?.region,
    };
    draft.check_under(&parent_facts)?;
    Ok(())
}

/// The audit line of a creation: what the union is.
fn summary(draft: &UnionDraft) -> String {
    let mut line = format!(
        "新建{}「{}」，地区 {}，办公时间 {}",
        draft.kind.label_zh(),
        draft.name,
        draft.region,
        super::hours_text(&draft.review_hours)
    );
    if !draft.coverage.is_empty() {
        let codes: Vec<&str> = draft.coverage.iter().map(|r| r.as_str()).collect();
        line.push_str(&format!("，覆盖 {}", codes.join("、")));
    }
    if !draft.occupations.is_empty() {
        let groups: Vec<&str> = draft.occupations.iter().map(|o| o.as_str()).collect();
        line.push_str(&format!("，职业 {}", groups.join("、")));
    }
    if let Some(code) = &draft.credit_code {
        line.push_str(&format!("，统一社会信用代码 {}", code.as_str()));
    }
    line
}
