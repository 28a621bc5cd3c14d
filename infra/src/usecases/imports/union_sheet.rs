//! The union import: a county's tree from one sheet, before its members. Each row is created
//! by the same function as `POST /v1/admin/unions` (`create_union_in`: the tree rules, the
//! regions, the credit code, the audit row), under a parent named by id, credit code or name
//! path — a union of an earlier line included. Phase one replays the sheet in a transaction it
//! rolls back (so every rule is checked exactly as the commit will meet it); phase two replays
//! it for real, all or nothing unless `valid_only`.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::ids::UnionId;
use zhijian_domain::import::{
    ImportKind, ImportMode, ImportStatus, Problem, UnionColumn, UnionEntry, UnionHeader,
    parse_union_row,
};

use super::file::{self, Charset, FileError, Record, Records, Source};
use super::members::{directory, same_file, store_problems};
use super::{CommitError, ImportRow, Importer, StartError, Started};
use crate::db::StoreError;
use crate::db::schema::{import_union_rows, imports};
use crate::store::audit::{self, AuditEntry};
use crate::store::reference_cache::ReferenceCache;
use crate::usecases::Services;
use crate::usecases::unions::{By, CreateUnionError, create_union_in};

/// The most rows a union sheet may hold.
pub const MAX_UNION_ROWS: usize = 20_000;

/// A union sheet as read: its charset, header (parsed and as written) and rows by line.
type Sheet = (Charset, UnionHeader, Vec<String>, Vec<(i32, Vec<String>)>);

fn read_rows(source: &Source, charset: Option<Charset>) -> Result<Sheet, FileError> {
    let (source, charset) = super::xlsx::as_csv(source.clone(), charset)?;
    let source = &source;
    let charset = match charset {
        Some(c) => c,
        None => file::detect(source)?,
    };
    let mut records = Records::open(source, charset)?;
    let (header, header_cells) = records.header::<UnionColumn>()?;
    let mut rows = Vec::new();
    while let Some(record) = records.next_record()? {
        let (line, cells) = match record {
            Record::Cells(line, cells) => (line, cells.iter().map(str::to_owned).collect()),
            Record::Unreadable(line, _) => (line, vec!["\u{0}unreadable".to_owned()]),
        };
        rows.push((i32::try_from(line).unwrap_or(i32::MAX), cells));
        if rows.len() > MAX_UNION_ROWS {
            return Err(FileError::TooManyRows(MAX_UNION_ROWS));
        }
    }
    if rows.is_empty() {
        return Err(FileError::NoRows);
    }
    Ok((charset, header, header_cells, rows))
}

/// Phase one of a union sheet (small: checked before answering).
pub async fn start_union_import(
    ctx: &Services,
    importer: Importer,
    source: Source,
    charset: Option<Charset>,
    mode: ImportMode,
) -> Result<Started, StartError> {
    let now = ctx.now();
    let union = importer.admin.union_path.union();
    let reference = ctx.reference.clone();
    let read = tokio::task::spawn_blocking(move || {
        let hash = source.sha256().map_err(FileError::from)?;
        Ok::<_, FileError>((hash, read_rows(&source, charset)))
    })
    .await
    .map_err(|e| StoreError::broken(format!("import task: {e}")))??;
    let (hash, parsed) = read;
    crate::db::run(&ctx.pool, move |conn| {
        if let Some(import) = same_file(conn, union, ImportKind::Unions, &hash)? {
            return Ok(Started {
                import,
                existing: true,
            });
        }
        let (charset, header, header_cells, rows) = parsed?;
        let id = uuid::Uuid::now_v7();
        let (created, problems) = dry_run(conn, &reference, &importer, &header, &rows, now)?;
        conn.transaction(|conn| {
            diesel::insert_into(imports::table)
                .values((
                    imports::id.eq(id),
                    imports::union_id.eq(union.get()),
                    imports::kind.eq(ImportKind::Unions.as_str()),
                    imports::mode.eq(mode.as_str()),
                    imports::status.eq(ImportStatus::Validated.as_str()),
                    imports::content_sha256.eq(&hash),
                    imports::charset.eq(charset.as_str()),
                    imports::source.eq(importer.source),
                    imports::actor_id.eq(importer.admin.admin_id),
                    imports::rows_total.eq(i32::try_from(rows.len()).unwrap_or(i32::MAX)),
                    imports::rows_valid.eq(i32::try_from(created).unwrap_or(i32::MAX)),
                    imports::rows_invalid
                        .eq(i32::try_from(rows.len() - created).unwrap_or(i32::MAX)),
                    imports::created_at.eq(now),
                    imports::updated_at.eq(now),
                ))
                .execute(conn)?;
            let staged: Vec<_> = std::iter::once(&(1, header_cells))
                .chain(rows.iter())
                .map(|(line, cells)| {
                    (
                        import_union_rows::import_id.eq(id),
                        import_union_rows::line.eq(*line),
                        import_union_rows::cells.eq(cells.clone()),
                    )
                })
                .collect();
            for chunk in staged.chunks(1000) {
                diesel::insert_into(import_union_rows::table)
                    .values(chunk)
                    .execute(conn)?;
            }
            store_problems(conn, id, &problems)?;
            let import = imports::table
                .find(id)
                .select(ImportRow::as_select())
                .first(conn)?;
            Ok(Started {
                import,
                existing: false,
            })
        })
    })
    .await
}

/// A transaction that is always rolled back: what the commit would create, and the problems.
fn dry_run(
    conn: &mut PgConnection,
    reference: &ReferenceCache,
    importer: &Importer,
    header: &UnionHeader,
    rows: &[(i32, Vec<String>)],
    now: DateTime<Utc>,
) -> Result<(usize, Vec<(i32, Problem)>), StoreError> {
    struct Rollback(Result<(usize, Vec<(i32, Problem)>), StoreError>);
    impl From<diesel::result::Error> for Rollback {
        fn from(e: diesel::result::Error) -> Self {
            Self(Err(e.into()))
        }
    }
    let outcome = conn.transaction::<(), Rollback, _>(|conn| {
        Err(Rollback(apply(
            conn, reference, importer, header, rows, now,
        )))
    });
    match outcome {
        Err(Rollback(result)) => result,
        Ok(()) => Err(StoreError::broken("a dry run committed")),
    }
}

/// Creates the rows in order, each in its own savepoint; a row that breaks a rule is a
/// problem and creates nothing (a later row under it then names an unknown parent).
fn apply(
    conn: &mut PgConnection,
    reference: &ReferenceCache,
    importer: &Importer,
    header: &UnionHeader,
    rows: &[(i32, Vec<String>)],
    now: DateTime<Utc>,
) -> Result<(usize, Vec<(i32, Problem)>), StoreError> {
    let mut directory = directory(conn, &importer.admin.union_path)?;
    let mut problems = Vec::new();
    let mut created = 0;
    for (line, cells) in rows {
        if cells.first().is_some_and(|c| c == "\u{0}unreadable") {
            problems.push((*line, Problem::unreadable("引号未闭合或单元格内容过长")));
            continue;
        }
        let row = match parse_union_row(header, cells) {
            Ok(row) => row,
            Err(found) => {
                problems.extend(found.into_iter().map(|p| (*line, p)));
                continue;
            }
        };
        let Some(parent) = directory.find(&row.parent).map(|e| e.id) else {
            problems.push((
                *line,
                Problem::at(
                    UnionColumn::Parent,
                    "import_union_unknown",
                    "上级工会不存在或不在本工会管辖范围内",
                ),
            ));
            continue;
        };
        let by = By::Admin(&importer.admin);
        let draft = row.draft;
        let made =
            conn.transaction(|conn| create_union_in(conn, reference, by, Some(parent), draft, now));
        match made {
            Ok(detail) => {
                created += 1;
                let region = zhijian_domain::region::RegionCode::parse(&detail.union.region_code)
                    .map_err(|e| StoreError::broken(e.to_string()))?;
                directory.add(UnionEntry {
                    id: UnionId::new(detail.union.id),
                    name: detail.union.name.clone(),
                    parent: Some(parent),
                    credit_code: detail.union.credit_code.clone(),
                    region,
                    takes_members: true,
                });
            }
            Err(CreateUnionError::Store(e)) => return Err(e),
            Err(CreateUnionError::KeyReused) => {
                return Err(StoreError::broken("no idempotency key in an import"));
            }
            Err(refused) => problems.push((*line, refusal(refused))),
        }
    }
    Ok((created, problems))
}

fn refusal(error: CreateUnionError) -> Problem {
    use crate::usecases::unions::UnknownRegion;
    match error {
        CreateUnionError::Rule(e) => {
            Problem::at(UnionColumn::Kind, e.code().as_str(), e.to_string())
        }
        CreateUnionError::UnknownRegion(UnknownRegion::Region) => {
            Problem::at(UnionColumn::Region, "unknown_region", "地区代码不存在")
        }
        CreateUnionError::UnknownRegion(UnknownRegion::Coverage) => Problem::at(
            UnionColumn::Coverage,
            "unknown_region",
            "覆盖范围中有不存在的地区代码",
        ),
        CreateUnionError::CreditCodeTaken => Problem::at(
            UnionColumn::CreditCode,
            "credit_code_taken",
            "统一社会信用代码已被其他工会使用",
        ),
        CreateUnionError::PoolExists => {
            Problem::at(UnionColumn::Kind, "pool_exists", "该地区已有临时库")
        }
        CreateUnionError::ParentClosed => {
            Problem::at(UnionColumn::Parent, "union_closed", "上级工会已撤销")
        }
        CreateUnionError::Forbidden(_) => {
            Problem::at(UnionColumn::Parent, "forbidden", "当前角色不能设立工会")
        }
        CreateUnionError::NotFound | CreateUnionError::KeyReused | CreateUnionError::Store(_) => {
            Problem::at(
                UnionColumn::Parent,
                "import_union_unknown",
                "上级工会不存在或不在本工会管辖范围内",
            )
        }
    }
}

/// Phase two of a union sheet: the rows replayed for real in one transaction.
pub(super) fn commit_unions_in(
    conn: &mut PgConnection,
    reference: &ReferenceCache,
    importer: &Importer,
    import: &ImportRow,
    now: DateTime<Utc>,
) -> Result<ImportRow, CommitError> {
    let mut rows: Vec<(i32, Vec<String>)> = import_union_rows::table
        .filter(import_union_rows::import_id.eq(import.id))
        .order(import_union_rows::line)
        .select((import_union_rows::line, import_union_rows::cells))
        .load(conn)?;
    if rows.first().is_none_or(|(line, _)| *line != 1) {
        return Err(StoreError::broken("a union import without its header").into());
    }
    let (_, header_cells) = rows.remove(0);
    let header = UnionHeader::parse(&header_cells)
        .map_err(|e| StoreError::broken(format!("stored header: {e}")))?;
    let (created, problems) = apply(conn, reference, importer, &header, &rows, now)?;
    let invalid = rows.len() - created;
    if import.mode() == ImportMode::All && !problems.iter().all(|(_, p)| !p.is_error()) {
        return Err(CommitError::HasProblems(
            i32::try_from(invalid).unwrap_or(i32::MAX),
        ));
    }
    diesel::delete(import_union_rows::table.filter(import_union_rows::import_id.eq(import.id)))
        .execute(conn)?;
    let row: ImportRow = diesel::update(imports::table.find(import.id))
        .set((
            imports::status.eq(ImportStatus::Committed.as_str()),
            imports::rows_committed.eq(i32::try_from(created).unwrap_or(i32::MAX)),
            imports::committed_at.eq(now),
            imports::updated_at.eq(now),
        ))
        .returning(ImportRow::as_returning())
        .get_result(conn)?;
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &importer.admin.audit_actor(),
            object_kind: "union",
            object_id: import.union_id.to_string(),
            action: "import_unions",
            reason: Some(format!(
                "导入 {}（{}，文件 SHA-256 {}）：共{}行，设立{}个工会，{}行未导入",
                import.id,
                importer.source,
                import.content_sha256,
                rows.len(),
                created,
                invalid
            )),
        },
    )?;
    Ok(row)
}
