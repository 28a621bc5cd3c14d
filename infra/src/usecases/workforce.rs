//! Workforce estimates and targets (底数 and 目标) per union × occupation group × year: read and
//! set by a manager for a union of their subtree (each group conditional on its version), and
//! imported for many unions at once from a sheet (all or nothing). Every change is audited on
//! its union, before → after.
//!
//! Coverage over a subtree (active members ÷ estimate) is the overview's: it sums these rows.
//! A union's own rows are what is read and written here.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::Connection;
use diesel::pg::PgConnection;
use zhijian_domain::admin::{AdminRole, UnionPath};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::UnionId;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::workforce::{
    DuplicateGroup, Figures, GroupFigures, MayNotPlanWorkforce, RowProblem, SheetUnion,
    WorkforcePlanner, WorkforceSheet, WorkforceYear, distinct_groups,
};

use super::store_errors;
use crate::db::{self, StoreError};
use crate::store::applications::AdminActor;
use crate::store::audit::{self, AuditEntry};
use crate::store::unions::{self, UnionRow};
use crate::store::workforce::{self, EstimateRow};
use crate::usecases::Services;

/// A union's estimates and targets for one year.
#[derive(Debug, Clone)]
pub struct UnionWorkforce {
    /// The union.
    pub union: UnionRow,
    /// The year.
    pub year: WorkforceYear,
    /// One row per group that has figures, in the order of the groups' list.
    pub rows: Vec<EstimateRow>,
}

/// Why a union's estimates could not be read or set.
#[derive(Debug, thiserror::Error)]
pub enum WorkforceError {
    /// The caller's role may not plan the workforce.
    #[error(transparent)]
    Forbidden(#[from] MayNotPlanWorkforce),
    /// No such union in the caller's subtree.
    #[error("not found")]
    NotFound,
    /// A group named twice in one request.
    #[error(transparent)]
    Duplicate(#[from] DuplicateGroup),
    /// A group's row changed (or was created) since the manager read it.
    #[error("stale version of {0}")]
    Stale(OccupationGroup),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an import was refused. Nothing is written.
#[derive(Debug, thiserror::Error)]
pub enum ImportWorkforceError {
    /// The caller's role may not plan the workforce.
    #[error(transparent)]
    Forbidden(#[from] MayNotPlanWorkforce),
    /// Rows name unions outside the caller's subtree (or none), or one union × group twice.
    #[error("{} rows refused", .0.len())]
    Rows(Vec<RowProblem>),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(WorkforceError, ImportWorkforceError);

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The year.
    pub year: WorkforceYear,
    /// Rows written (inserted or changed).
    pub written: usize,
    /// Rows that already held the same figures.
    pub unchanged: usize,
    /// Unions touched.
    pub unions: usize,
}

fn authorize(admin: &AdminActor) -> Result<WorkforcePlanner, MayNotPlanWorkforce> {
    let role = AdminRole::parse(admin.role).map_err(|_| MayNotPlanWorkforce)?;
    WorkforcePlanner::authorize(role)
}

/// The union `id` if it is in `scope`.
fn union_in(
    conn: &mut PgConnection,
    scope: &UnionPath,
    id: UnionId,
) -> Result<Option<UnionRow>, StoreError> {
    let Some(row) = unions::find(conn, id)? else {
        return Ok(None);
    };
    Ok(scope.contains(&row.union_path()?).then_some(row))
}

/// The estimates and targets of union `id` for `year`.
pub async fn read_workforce(
    ctx: &Services,
    admin: AdminActor,
    id: UnionId,
    year: WorkforceYear,
) -> Result<UnionWorkforce, WorkforceError> {
    db::run(&ctx.pool, move |conn| read_in(conn, &admin, id, year)).await
}

/// [`read_workforce`] on a connection, for the demo seeding.
pub fn read_in(
    conn: &mut PgConnection,
    admin: &AdminActor,
    id: UnionId,
    year: WorkforceYear,
) -> Result<UnionWorkforce, WorkforceError> {
    authorize(admin)?;
    let union = union_in(conn, &admin.union_path, id)?.ok_or(WorkforceError::NotFound)?;
    let rows = workforce::of_union(conn, id, year, false)?;
    Ok(UnionWorkforce { union, year, rows })
}

/// Sets the figures of the groups in `entries` for union `id` and `year`, each conditional on
/// the version the manager read (`None` for a group without figures yet); the other groups
/// stay as they are. One transaction, one audit row listing each change before → after.
pub async fn set_workforce(
    ctx: &Services,
    admin: AdminActor,
    id: UnionId,
    year: WorkforceYear,
    entries: Vec<GroupFigures>,
) -> Result<UnionWorkforce, WorkforceError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        set_workforce_in(conn, &admin, id, year, &entries, now)
    })
    .await
}

/// [`set_workforce`] on a connection (its own transaction), for the demo seeding.
pub fn set_workforce_in(
    conn: &mut PgConnection,
    admin: &AdminActor,
    id: UnionId,
    year: WorkforceYear,
    entries: &[GroupFigures],
    now: DateTime<Utc>,
) -> Result<UnionWorkforce, WorkforceError> {
    authorize(admin)?;
    distinct_groups(entries)?;
    conn.transaction(|conn| {
        let union = union_in(conn, &admin.union_path, id)?.ok_or(WorkforceError::NotFound)?;
        let before = workforce::of_union(conn, id, year, true)?;
        let mut changes = Vec::new();
        for entry in entries {
            let stored = before.iter().find(|r| r.occupation == entry.group);
            if stored.map(|r| r.version) != entry.version {
                return Err(WorkforceError::Stale(entry.group));
            }
            if stored.is_some_and(|r| r.holds(&entry.figures)) {
                continue;
            }
            workforce::write(
                conn,
                id,
                year,
                entry.group,
                entry.version,
                &entry.figures,
                admin.admin_id,
                now,
            )?
            .ok_or(WorkforceError::Stale(entry.group))?;
            changes.push(change_line(year, entry.group, stored, &entry.figures));
        }
        if !changes.is_empty() {
            record(conn, admin, id, "set_workforce", &changes, now)?;
            log::info!(union_id = id.get(), year = year.get(), groups = changes.len(); "workforce set");
        }
        let rows = workforce::of_union(conn, id, year, false)?;
        Ok(UnionWorkforce { union, year, rows })
    })
}

/// Imports a sheet of many unions' figures for `year`, all or nothing: every union it names
/// must be in the caller's subtree, and each union × group appear once. Rows that hold the
/// figures already are left alone; each union changed gets one audit row.
pub async fn import_workforce(
    ctx: &Services,
    admin: AdminActor,
    year: WorkforceYear,
    sheet: WorkforceSheet,
) -> Result<Imported, ImportWorkforceError> {
    authorize(&admin)?;
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let resolved = resolve_unions(conn, &admin.union_path, &sheet)?
                .map_err(ImportWorkforceError::Rows)?;
            let mut by_union: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            let mut stored_of: HashMap<i64, Vec<EstimateRow>> = HashMap::new();
            let mut unchanged = 0;
            for (row, union) in sheet.rows.iter().zip(resolved) {
                let id = UnionId::new(union);
                let of_union = match stored_of.entry(union) {
                    Entry::Occupied(rows) => rows.into_mut(),
                    Entry::Vacant(slot) => slot.insert(workforce::of_union(conn, id, year, true)?),
                };
                let stored = of_union
                    .iter()
                    .find(|r| r.occupation == row.group)
                    .cloned();
                if stored.as_ref().is_some_and(|r| r.holds(&row.figures)) {
                    unchanged += 1;
                    continue;
                }
                workforce::upsert(conn, id, year, row.group, &row.figures, admin.admin_id, now)?;
                by_union.entry(union).or_default().push(change_line(
                    year,
                    row.group,
                    stored.as_ref(),
                    &row.figures,
                ));
            }
            let written = by_union.values().map(Vec::len).sum();
            for (union, changes) in &by_union {
                record(conn, &admin, UnionId::new(*union), "import_workforce", changes, now)?;
            }
            log::info!(year = year.get(), written = written, unions = by_union.len(); "workforce imported");
            Ok(Imported {
                year,
                written,
                unchanged,
                unions: by_union.len(),
            })
        })
    })
    .await
}

/// The union id of each row, or every row whose union is unknown or outside `scope`, and
/// every union × group named twice.
fn resolve_unions(
    conn: &mut PgConnection,
    scope: &UnionPath,
    sheet: &WorkforceSheet,
) -> Result<Result<Vec<i64>, Vec<RowProblem>>, StoreError> {
    let mut ids = Vec::new();
    let mut codes = Vec::new();
    for row in &sheet.rows {
        match &row.union {
            SheetUnion::Id(id) => ids.push(id.get()),
            SheetUnion::CreditCode(code) => codes.push(code.as_str().to_owned()),
        }
    }
    let named = workforce::named_unions(conn, &ids, &codes)?;
    let mut visible: HashSet<i64> = HashSet::new();
    let mut by_code: HashMap<String, i64> = HashMap::new();
    for union in &named {
        let inside = UnionPath::parse(&union.path)
            .map_err(|_| StoreError::broken(format!("union {} has a bad path", union.id)))
            .map(|path| scope.contains(&path))?;
        if inside {
            visible.insert(union.id);
            if let Some(code) = &union.credit_code {
                by_code.insert(code.clone(), union.id);
            }
        }
    }
    let mut problems = Vec::new();
    let mut resolved = Vec::with_capacity(sheet.rows.len());
    let mut seen = HashSet::new();
    for row in &sheet.rows {
        let union = match &row.union {
            SheetUnion::Id(id) => visible.contains(&id.get()).then_some(id.get()),
            SheetUnion::CreditCode(code) => by_code.get(code.as_str()).copied(),
        };
        let Some(union) = union else {
            problems.push(RowProblem {
                line: row.line,
                column: Some(row.union_column.clone()),
                code: ErrorCode::NotFound,
                message: "工会不存在，或不在您管辖的范围内".to_owned(),
            });
            continue;
        };
        if !seen.insert((union, row.group)) {
            problems.push(RowProblem {
                line: row.line,
                column: Some(sheet.occupation_column.clone()),
                code: ErrorCode::WorkforceDuplicateGroup,
                message: "同一工会的同一职业类别在文件中出现了两次".to_owned(),
            });
            continue;
        }
        resolved.push(union);
    }
    Ok(if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(problems)
    })
}

/// `2026年 快递员：底数 1000 → 1200，目标 800 → 900，来源 … → …` (a new group: `— →`).
fn change_line(
    year: WorkforceYear,
    group: OccupationGroup,
    before: Option<&EstimateRow>,
    after: &Figures,
) -> String {
    let target = |t: Option<i64>| t.map_or_else(|| "未设".to_owned(), |t| t.to_string());
    let (estimate, target_before, source) = match before {
        Some(r) => (r.estimate.to_string(), target(r.target), r.source.clone()),
        None => ("—".to_owned(), "—".to_owned(), "—".to_owned()),
    };
    format!(
        "{}年 {}：底数 {estimate} → {}，目标 {target_before} → {}，来源 {source} → {}",
        year.get(),
        group.label_zh(),
        after.estimate,
        target(after.target),
        after.source
    )
}

fn record(
    conn: &mut PgConnection,
    admin: &AdminActor,
    union: UnionId,
    action: &'static str,
    changes: &[String],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &admin.audit_actor(),
            object_kind: "union",
            object_id: union.to_string(),
            action,
            reason: Some(changes.join("；")),
        },
    )
}
