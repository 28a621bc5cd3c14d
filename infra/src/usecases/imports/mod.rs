//! Bulk import of a member register in two phases, one code path for the API and the command
//! line (issue 14):
//!
//! 1. [`start_member_import`] checks what can be checked at once (charset, header, at least one
//!    row; the same file sent again answers the existing import), records the import
//!    (`validating`) and runs [`validate`]: every row is read with the domain's rules
//!    (`zhijian_domain::import`), its resident ID and phone encrypted with their blind
//!    indexes, and the good rows are streamed into `import_member_rows` with `COPY`; then set
//!    queries find the same person twice in the file, people already members, open
//!    applications, and membership numbers taken. The import is `validated` with its counts
//!    and its report (`import_problems`).
//! 2. [`commit_import`] writes, in one transaction: all rows or nothing (`all`), or the good
//!    rows (`valid_only`) — a placeholder account, an approved application (channel `import`)
//!    carrying the person data every reader expects, the member with its number (the given
//!    one when valid and free, else the county counter's next), the affiliation (reason
//!    `imported`), an event for each replaced number, the audit row. Set-based
//!    `INSERT … SELECT` from the staged rows: nothing row by row.
//!
//! State lives in PostgreSQL: at start-up [`recover_interrupted`] marks an import that was
//! validating as failed (send the file again) and one that was committing as validated (its
//! transaction did not commit).

pub mod file;
mod members;
mod union_sheet;
pub mod xlsx;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::import::{ImportKind, ImportMode, ImportStatus};

use crate::db::StoreError;
use crate::db::schema::{import_problems, imports, unions};
use crate::store::applications::AdminActor;
use crate::usecases::{Services, store_errors};

pub use file::{Charset, FileError, Source};
pub use members::{Progress, commit_import, recover_interrupted, start_member_import};
pub use union_sheet::start_union_import;

/// Who imports: an admin of a union (over HTTP or on the command line).
#[derive(Debug, Clone)]
pub struct Importer {
    /// The admin.
    pub admin: AdminActor,
    /// `api` or `cli`.
    pub source: &'static str,
}

/// An import as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = imports)]
pub struct ImportRow {
    pub id: uuid::Uuid,
    pub union_id: i64,
    pub kind: String,
    pub mode: String,
    pub status: String,
    pub content_sha256: String,
    pub charset: String,
    pub source: String,
    pub actor_id: uuid::Uuid,
    /// Rows read so far (the progress while validating), then every data row.
    pub rows_total: i32,
    pub rows_valid: i32,
    pub rows_invalid: i32,
    /// Rows written (the progress while committing).
    pub rows_committed: i32,
    pub warnings: i32,
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub committed_at: Option<DateTime<Utc>>,
}

impl ImportRow {
    /// The status, read.
    pub fn status(&self) -> ImportStatus {
        ImportStatus::parse(&self.status).unwrap_or(ImportStatus::Failed)
    }

    /// The mode, read.
    pub fn mode(&self) -> ImportMode {
        ImportMode::parse(&self.mode).unwrap_or(ImportMode::All)
    }

    /// The kind, read.
    pub fn kind(&self) -> ImportKind {
        ImportKind::parse(&self.kind).unwrap_or(ImportKind::Members)
    }
}

/// One problem of the report.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_problems)]
pub struct ProblemRow {
    pub line: i32,
    pub column_name: String,
    pub code: String,
    pub message: String,
    pub severity: String,
}

/// What [`start_member_import`] answers.
#[derive(Debug, Clone)]
pub struct Started {
    /// The import.
    pub import: ImportRow,
    /// Whether the same file had been sent before (nothing new was started).
    pub existing: bool,
}

/// Why an import could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The file cannot be read at all.
    #[error(transparent)]
    File(#[from] FileError),
    /// This kind is not imported by this call.
    #[error("unsupported import kind")]
    Kind,
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an import cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Unknown, or another subtree's.
    #[error("import not found")]
    NotFound,
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an import cannot be committed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Unknown, or another subtree's.
    #[error("import not found")]
    NotFound,
    /// Not validated (still validating, already committed, failed).
    #[error("import is {0}")]
    NotCommittable(ImportStatus),
    /// All-or-nothing and the report has errors (some may have appeared since validation).
    #[error("the import has {0} rows with errors")]
    HasProblems(i32),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(StartError, ReadError, CommitError);

/// Inside a transaction or not: the import `id` if its union lies in `scope`.
fn find_in_scope(
    conn: &mut PgConnection,
    scope: &UnionPath,
    id: uuid::Uuid,
) -> Result<Option<ImportRow>, StoreError> {
    let found: Option<(ImportRow, String)> = imports::table
        .inner_join(unions::table)
        .filter(imports::id.eq(id))
        .select((ImportRow::as_select(), unions::path))
        .first(conn)
        .optional()?;
    Ok(found.and_then(|(row, path)| {
        UnionPath::parse(&path)
            .ok()
            .filter(|p| scope.contains(p))
            .map(|_| row)
    }))
}

/// `GET /v1/admin/imports/{id}`: the import's status, counts and progress.
pub async fn import_status(
    ctx: &Services,
    scope: UnionPath,
    id: uuid::Uuid,
) -> Result<ImportRow, ReadError> {
    crate::db::run(&ctx.pool, move |conn| {
        find_in_scope(conn, &scope, id)?.ok_or(ReadError::NotFound)
    })
    .await
}

/// The report: every problem kept, by line.
pub async fn import_report(
    ctx: &Services,
    scope: UnionPath,
    id: uuid::Uuid,
) -> Result<(ImportRow, Vec<ProblemRow>), ReadError> {
    crate::db::run(&ctx.pool, move |conn| {
        let import = find_in_scope(conn, &scope, id)?.ok_or(ReadError::NotFound)?;
        let problems = import_problems::table
            .filter(import_problems::import_id.eq(id))
            .order((import_problems::line, import_problems::id))
            .select(ProblemRow::as_select())
            .load(conn)?;
        Ok((import, problems))
    })
    .await
}

/// Why the command line may not import as this admin into this union.
#[derive(Debug, thiserror::Error)]
pub enum CliImporterError {
    /// No such admin, or disabled.
    #[error("no active admin with this username")]
    UnknownAdmin,
    /// Not a manager.
    #[error("only a manager may import")]
    NotManager,
    /// The union is not the admin's or below it.
    #[error("the union is not in the admin's subtree")]
    OutsideSubtree,
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(CliImporterError);

/// `zhijian import … --union ID --as USERNAME`: the importer is the manager `username`, acting
/// for union `union` (their own or one below it), recorded as the command line.
pub async fn cli_importer(
    ctx: &Services,
    username: String,
    union: zhijian_domain::ids::UnionId,
) -> Result<Importer, CliImporterError> {
    use crate::db::schema::admins;
    crate::db::run(&ctx.pool, move |conn| {
        let admin: Option<(uuid::Uuid, String, String, Option<DateTime<Utc>>)> = admins::table
            .inner_join(unions::table)
            .filter(admins::username.eq(&username))
            .select((admins::id, admins::role, unions::path, admins::disabled_at))
            .first(conn)
            .optional()?;
        let (id, role, path, disabled) = admin.ok_or(CliImporterError::UnknownAdmin)?;
        if disabled.is_some() {
            return Err(CliImporterError::UnknownAdmin);
        }
        if role != "manager" {
            return Err(CliImporterError::NotManager);
        }
        let own = UnionPath::parse(&path).map_err(|e| StoreError::broken(e.to_string()))?;
        let target: Option<String> = unions::table
            .find(union.get())
            .select(unions::path)
            .first(conn)
            .optional()?;
        let target = target
            .and_then(|p| UnionPath::parse(&p).ok())
            .filter(|p| own.contains(p))
            .ok_or(CliImporterError::OutsideSubtree)?;
        Ok(Importer {
            admin: AdminActor {
                admin_id: id,
                role: "manager",
                union_path: target,
            },
            source: "cli",
        })
    })
    .await
}
