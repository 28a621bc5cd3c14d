//! The member import: phase one (read, check, encrypt, stage with `COPY`) and phase two
//! (commit with set-based statements). See the module documentation of `imports`.

use std::cell::RefCell;
use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Int4, Nullable, Text, Uuid as SqlUuid};
use zhijian_domain::admin::UnionPath;
use zhijian_domain::calendar::local_date;
use zhijian_domain::ids::UnionId;
use zhijian_domain::import::{
    ImportKind, ImportMode, ImportStatus, MAX_PROBLEMS_KEPT, MAX_ROWS, MemberHeader, Problem,
    UnionDirectory, UnionEntry, mask_name, parse_member_row,
};
use zhijian_domain::region::RegionCode;
use zhijian_domain::routing::UnionKind;

use super::file::{self, Charset, FileError, Record, Records, Source};
use super::{CommitError, ImportRow, Importer, StartError, Started, find_in_scope};
use crate::crypto::pii::PiiCipher;
use crate::db::StoreError;
use crate::db::schema::{import_member_rows, import_problems, imports, unions};
use crate::store::audit::{self, AuditEntry};
use crate::usecases::Services;

/// Rows per `COPY` statement (the progress is updated between them).
const BATCH: usize = 20_000;

/// Reports the rows read or written so far (the command line's progress bar).
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// Phase one. Checks the file at once (charset, header, a row), answers the existing import
/// for a file already sent by this union, else records the import and validates it — in the
/// background (`background`, the API: the answer comes early, `GET` shows the progress) or
/// before answering (the command line).
pub async fn start_member_import(
    ctx: &Services,
    importer: Importer,
    source: Source,
    charset: Option<Charset>,
    mode: ImportMode,
    background: bool,
    progress: Option<Progress>,
) -> Result<Started, StartError> {
    let now = ctx.now();
    let union = importer.admin.union_path.union();
    let opened = {
        let source = source.clone();
        tokio::task::spawn_blocking(move || {
            let hash = source.sha256().map_err(FileError::from)?;
            Ok::<_, StartError>((hash, source))
        })
        .await
        .map_err(|e| StoreError::broken(format!("import task: {e}")))??
    };
    let (hash, source) = opened;
    let lookup = hash.clone();
    let existing = crate::db::run(&ctx.pool, move |conn| {
        Ok::<_, StartError>(same_file(conn, union, ImportKind::Members, &lookup)?)
    })
    .await?;
    if let Some(import) = existing {
        return Ok(Started {
            import,
            existing: true,
        });
    }
    let checked = tokio::task::spawn_blocking(move || {
        let (source, charset) = super::xlsx::as_csv(source, charset)?;
        let (charset, header) = file::open_members(&source, charset)?;
        Ok::<_, FileError>((source, charset, header))
    })
    .await
    .map_err(|e| StoreError::broken(format!("import task: {e}")))??;
    let (source, charset, header) = checked;
    let id = uuid::Uuid::now_v7();
    let admin = importer.admin.clone();
    let row = crate::db::run(&ctx.pool, move |conn| {
        let inserted = diesel::insert_into(imports::table)
            .values((
                imports::id.eq(id),
                imports::union_id.eq(union.get()),
                imports::kind.eq(ImportKind::Members.as_str()),
                imports::mode.eq(mode.as_str()),
                imports::status.eq(ImportStatus::Validating.as_str()),
                imports::content_sha256.eq(&hash),
                imports::charset.eq(charset.as_str()),
                imports::source.eq(importer.source),
                imports::actor_id.eq(admin.admin_id),
                imports::created_at.eq(now),
                imports::updated_at.eq(now),
            ))
            .returning(ImportRow::as_returning())
            .get_result(conn);
        match inserted {
            Ok(row) => Ok::<_, StartError>((row, false)),
            // The same file, sent twice at once: the other one is the import.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Ok((
                same_file(conn, union, ImportKind::Members, &hash)?
                    .ok_or_else(|| StoreError::broken("import vanished"))?,
                true,
            )),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    if row.1 {
        return Ok(Started {
            import: row.0,
            existing: true,
        });
    }
    let job = validate(
        ctx.clone(),
        id,
        importer.admin.union_path.clone(),
        source,
        charset,
        header,
        progress,
    );
    if background {
        tokio::spawn(job);
        Ok(Started {
            import: row.0,
            existing: false,
        })
    } else {
        job.await;
        let import = crate::db::run(&ctx.pool, move |conn| {
            Ok::<_, StartError>(
                imports::table
                    .find(id)
                    .select(ImportRow::as_select())
                    .first(conn)?,
            )
        })
        .await?;
        Ok(Started {
            import,
            existing: false,
        })
    }
}

/// The import of the same file (content hash) by the same union, unless it failed.
pub(super) fn same_file(
    conn: &mut PgConnection,
    union: UnionId,
    kind: ImportKind,
    hash: &str,
) -> Result<Option<ImportRow>, StoreError> {
    Ok(imports::table
        .filter(imports::union_id.eq(union.get()))
        .filter(imports::kind.eq(kind.as_str()))
        .filter(imports::content_sha256.eq(hash))
        .filter(imports::status.ne(ImportStatus::Failed.as_str()))
        .select(ImportRow::as_select())
        .first(conn)
        .optional()?)
}

/// Runs phase one to its end; a failure is recorded on the import, never lost.
async fn validate(
    ctx: Services,
    id: uuid::Uuid,
    scope: UnionPath,
    source: Source,
    charset: Charset,
    header: MemberHeader,
    progress: Option<Progress>,
) {
    let today = local_date(ctx.now());
    let pii = Arc::clone(&ctx.pii);
    // A `COPY` lasts while its rows are read and encrypted: bulk work, not a request, so the
    // statement timeout of the requests does not apply (as for the commit).
    let result = crate::db::run_unbounded(&ctx.pool, move |conn| {
        crate::db::without_statement_timeout(conn, |conn| {
            validate_in(
                conn,
                &pii,
                id,
                &scope,
                &source,
                charset,
                &header,
                today,
                progress.as_ref(),
            )
        })
    })
    .await;
    if let Err(error) = result {
        log::warn!(import_id:% = id; "import validation failed: {error}");
        let message = match &error {
            ValidateError::File(e) => e.to_string(),
            ValidateError::Store(_) => "校验中断，请重新上传文件".to_owned(),
        };
        let now = ctx.now();
        let _ = crate::db::run(&ctx.pool, move |conn| {
            diesel::update(imports::table.find(id))
                .set((
                    imports::status.eq(ImportStatus::Failed.as_str()),
                    imports::failure.eq(message),
                    imports::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(StoreError::from)
        })
        .await;
    }
}

#[derive(Debug, thiserror::Error)]
enum ValidateError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ValidateError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Store(error.into())
    }
}

#[derive(Queryable)]
struct DirectoryRow {
    id: i64,
    name: String,
    parent_id: Option<i64>,
    credit_code: Option<String>,
    region_code: String,
    kind: String,
    closed: bool,
}

/// The unions of the subtree, as the union column may name them.
pub(super) fn directory(
    conn: &mut PgConnection,
    scope: &UnionPath,
) -> Result<UnionDirectory, StoreError> {
    let rows: Vec<DirectoryRow> = unions::table
        .filter(unions::path.like(format!("{scope}%")))
        .select((
            unions::id,
            unions::name,
            unions::parent_id,
            unions::credit_code,
            unions::region_code,
            unions::kind,
            unions::closed_at.is_not_null(),
        ))
        .load(conn)?;
    let entries = rows
        .into_iter()
        .filter_map(|r| {
            Some(UnionEntry {
                id: UnionId::new(r.id),
                takes_members: !r.closed && r.kind != UnionKind::Pool.as_str(),
                name: r.name,
                parent: r.parent_id.map(UnionId::new),
                credit_code: r.credit_code,
                region: RegionCode::parse(&r.region_code).ok()?,
            })
        })
        .collect();
    Ok(UnionDirectory::new(scope, entries))
}

/// What the reading pass accumulates.
struct Pass {
    records: Records,
    problems: Vec<(i32, Problem)>,
    total: i64,
    invalid: i64,
    warnings: i64,
    done: bool,
    failure: Option<FileError>,
}

impl Pass {
    fn problem(&mut self, line: i32, problem: Problem) {
        if problem.is_error() {
            // Counted once per row by the caller.
        } else {
            self.warnings += 1;
        }
        if self.problems.len() < MAX_PROBLEMS_KEPT {
            self.problems.push((line, problem));
        }
    }
}

/// COPY text format: backslash, tab, newline and carriage return escaped.
fn field(out: &mut Vec<u8>, value: &str) {
    for b in value.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

fn optional(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(v) => field(out, v),
        None => out.extend_from_slice(b"\\N"),
    }
}

#[expect(clippy::too_many_arguments, reason = "the import and its file")]
fn validate_in(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    id: uuid::Uuid,
    scope: &UnionPath,
    source: &Source,
    charset: Charset,
    header: &MemberHeader,
    today: NaiveDate,
    progress: Option<&Progress>,
) -> Result<(), ValidateError> {
    let unions = directory(conn, scope)?;
    let mut records = Records::open(source, charset)?;
    records.member_header()?;
    let pass = RefCell::new(Pass {
        records,
        problems: Vec::new(),
        total: 0,
        invalid: 0,
        warnings: 0,
        done: false,
        failure: None,
    });
    let import_id = id.to_string();
    loop {
        diesel::copy_from(import_member_rows::table)
            .from_raw_data(
                (
                    import_member_rows::import_id,
                    import_member_rows::line,
                    import_member_rows::person_index,
                    import_member_rows::name,
                    import_member_rows::resident_id_cipher,
                    import_member_rows::phone_cipher,
                    import_member_rows::phone_index,
                    import_member_rows::gender,
                    import_member_rows::birth_date,
                    import_member_rows::union_id,
                    import_member_rows::county,
                    import_member_rows::work_region,
                    import_member_rows::joined_on,
                    import_member_rows::given_number,
                    import_member_rows::unusable_number,
                    import_member_rows::occupation,
                    import_member_rows::employer_name,
                    import_member_rows::platform,
                ),
                |out: &mut dyn Write| -> Result<(), diesel::result::Error> {
                    let mut pass = pass.borrow_mut();
                    let mut line_buf = Vec::with_capacity(1024);
                    let mut staged = 0;
                    while staged < BATCH {
                        let next = match pass.records.next_record() {
                            Ok(next) => next,
                            Err(e) => {
                                pass.failure = Some(e);
                                pass.done = true;
                                break;
                            }
                        };
                        let (line, parsed, problems) = match next {
                            None => {
                                pass.done = true;
                                break;
                            }
                            Some(Record::Unreadable(line, why)) => {
                                (line, None, vec![Problem::unreadable(why)])
                            }
                            Some(Record::Cells(line, cells)) => {
                                let cells: Vec<&str> = cells.iter().collect();
                                let (row, problems) =
                                    parse_member_row(header, &cells, &unions, today);
                                (line, row, problems)
                            }
                        };
                        let line = i32::try_from(line).unwrap_or(i32::MAX);
                        pass.total += 1;
                        if pass.total > MAX_ROWS as i64 {
                            pass.failure = Some(FileError::TooManyRows(MAX_ROWS));
                            pass.done = true;
                            break;
                        }
                        if parsed.is_none() {
                            pass.invalid += 1;
                        }
                        for problem in problems {
                            pass.problem(line, problem);
                        }
                        let Some(row) = parsed else { continue };
                        let seal = |value: &str, context: &str| {
                            pii.encrypt(value, context)
                                .map(|s| s.to_string())
                                .map_err(|e| {
                                    diesel::result::Error::SerializationError(
                                        format!("encrypting {context}: {e}").into(),
                                    )
                                })
                        };
                        line_buf.clear();
                        let b = &mut line_buf;
                        field(b, &import_id);
                        b.push(b'\t');
                        field(b, &line.to_string());
                        b.push(b'\t');
                        field(b, &pii.blind_index("resident_id", row.resident_id.expose()));
                        b.push(b'\t');
                        field(b, row.name.as_str());
                        b.push(b'\t');
                        field(b, &seal(row.resident_id.expose(), "resident_id")?);
                        b.push(b'\t');
                        field(b, &seal(row.phone.expose(), "phone")?);
                        b.push(b'\t');
                        field(b, &pii.blind_index("phone", row.phone.expose()));
                        b.push(b'\t');
                        field(b, row.resident_id.gender().as_str());
                        b.push(b'\t');
                        field(b, &row.resident_id.birth_date().to_string());
                        b.push(b'\t');
                        field(b, &row.union.get().to_string());
                        b.push(b'\t');
                        field(b, row.county.as_str());
                        b.push(b'\t');
                        field(b, row.region.as_str());
                        b.push(b'\t');
                        field(b, &row.joined_on.to_string());
                        b.push(b'\t');
                        optional(b, row.number.as_ref().map(|n| n.as_str()));
                        b.push(b'\t');
                        optional(b, row.unusable_number.as_deref());
                        b.push(b'\t');
                        field(b, row.occupation.as_str());
                        b.push(b'\t');
                        optional(b, row.employer.as_ref().map(|e| e.as_str()));
                        b.push(b'\t');
                        optional(b, row.platform.as_ref().map(|p| p.as_str()));
                        b.push(b'\n');
                        out.write_all(b)
                            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
                        staged += 1;
                    }
                    Ok(())
                },
            )
            .execute(conn)?;
        let (total, done) = {
            let pass = pass.borrow();
            (pass.total, pass.done)
        };
        diesel::update(imports::table.find(id))
            .set(imports::rows_total.eq(i32::try_from(total).unwrap_or(i32::MAX)))
            .execute(conn)?;
        if let Some(report) = progress {
            report(u64::try_from(total).unwrap_or(0));
        }
        if done {
            break;
        }
    }
    let pass = pass.into_inner();
    if let Some(failure) = pass.failure {
        return Err(failure.into());
    }
    store_problems(conn, id, &pass.problems)?;
    check_against_register(conn, id)?;
    recount(conn, id, pass.total, pass.invalid, pass.warnings)?;
    Ok(())
}

pub(super) fn store_problems(
    conn: &mut PgConnection,
    id: uuid::Uuid,
    problems: &[(i32, Problem)],
) -> Result<(), StoreError> {
    for chunk in problems.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(line, p)| {
                (
                    import_problems::import_id.eq(id),
                    import_problems::line.eq(*line),
                    import_problems::column_name.eq(p.column),
                    import_problems::code.eq(p.code),
                    import_problems::message.eq(p.message.clone()),
                    import_problems::severity.eq(p.severity.as_str()),
                )
            })
            .collect();
        diesel::insert_into(import_problems::table)
            .values(rows)
            .execute(conn)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Flagged {
    #[diesel(sql_type = Int4)]
    line: i32,
    #[diesel(sql_type = Nullable<Int4>)]
    first_line: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    union_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    other_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    number: Option<String>,
}

/// The same person twice in the file (later lines refused).
const DUPLICATES_SQL: &str = "
WITH d AS (SELECT line, min(line) OVER (PARTITION BY person_index) AS first_line
           FROM import_member_rows WHERE import_id = $1 AND valid)
UPDATE import_member_rows r SET valid = false FROM d
WHERE r.import_id = $1 AND r.line = d.line AND d.first_line <> d.line
RETURNING r.line, d.first_line, NULL::text AS union_name, NULL::text AS other_name, NULL::text AS number";

/// People already members (any status: one member row per person nationwide).
const MEMBERS_SQL: &str = "
UPDATE import_member_rows r SET valid = false FROM members m JOIN unions u ON u.id = m.union_id
WHERE r.import_id = $1 AND r.valid AND m.person_index = r.person_index
RETURNING r.line, NULL::int AS first_line, u.name AS union_name, m.name AS other_name, NULL::text AS number";

/// Open applications of the same person.
const APPLICATIONS_SQL: &str = "
UPDATE import_member_rows r SET valid = false FROM applications a JOIN unions u ON u.id = a.union_id
WHERE r.import_id = $1 AND r.valid AND a.person_index = r.person_index
  AND a.status IN ('pending_review', 'pooled', 'returned')
RETURNING r.line, NULL::int AS first_line, u.name AS union_name, NULL::text AS other_name, NULL::text AS number";

/// Given numbers taken by a member, or by an earlier line: replaced (a warning).
const NUMBERS_SQL: &str = "
WITH taken AS (
    SELECT r.line FROM import_member_rows r
    WHERE r.import_id = $1 AND r.given_number IS NOT NULL
      AND (EXISTS (SELECT 1 FROM members m WHERE m.membership_number = r.given_number)
           OR EXISTS (SELECT 1 FROM import_member_rows o
                      WHERE o.import_id = r.import_id AND o.valid AND o.line < r.line
                        AND o.given_number = r.given_number)))
UPDATE import_member_rows r SET unusable_number = r.given_number, given_number = NULL FROM taken t
WHERE r.import_id = $1 AND r.line = t.line
RETURNING r.line, NULL::int AS first_line, NULL::text AS union_name, NULL::text AS other_name,
          r.unusable_number AS number";

/// Runs the checks that need the register; records their problems; answers how many rows
/// became invalid and how many warnings were added.
fn check_against_register(
    conn: &mut PgConnection,
    id: uuid::Uuid,
) -> Result<(i64, i64), StoreError> {
    let mut problems = Vec::new();
    let mut invalid = 0;
    for (sql, kind) in [
        (DUPLICATES_SQL, 0),
        (MEMBERS_SQL, 1),
        (APPLICATIONS_SQL, 2),
        (NUMBERS_SQL, 3),
    ] {
        let flagged: Vec<Flagged> = diesel::sql_query(sql).bind::<SqlUuid, _>(id).load(conn)?;
        if kind != 3 {
            invalid += flagged.len() as i64;
        }
        for f in flagged {
            let problem = match kind {
                0 => Problem::duplicate_person(f.first_line.unwrap_or(0)),
                1 => Problem::already_member(
                    f.union_name.as_deref().unwrap_or(""),
                    &mask_name(f.other_name.as_deref().unwrap_or("")),
                ),
                2 => Problem::open_application(f.union_name.as_deref().unwrap_or("")),
                _ => Problem::number_taken(f.number.as_deref().unwrap_or("")),
            };
            problems.push((f.line, problem));
        }
    }
    let warnings = problems.iter().filter(|(_, p)| !p.is_error()).count() as i64;
    let room: i64 = import_problems::table
        .filter(import_problems::import_id.eq(id))
        .count()
        .get_result(conn)?;
    let room = usize::try_from((MAX_PROBLEMS_KEPT as i64 - room).max(0)).unwrap_or(0);
    problems.truncate(room);
    store_problems(conn, id, &problems)?;
    Ok((invalid, warnings))
}

/// Sets the counts from the staged rows and the import `validated`.
fn recount(
    conn: &mut PgConnection,
    id: uuid::Uuid,
    total: i64,
    invalid_while_reading: i64,
    warnings_while_reading: i64,
) -> Result<(), StoreError> {
    let valid: i64 = import_member_rows::table
        .filter(import_member_rows::import_id.eq(id))
        .filter(import_member_rows::valid)
        .count()
        .get_result(conn)?;
    let warnings: i64 = import_problems::table
        .filter(import_problems::import_id.eq(id))
        .filter(import_problems::severity.eq("warning"))
        .count()
        .get_result(conn)?;
    let as_i32 = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    let _ = (invalid_while_reading, warnings_while_reading);
    diesel::update(imports::table.find(id))
        .set((
            imports::status.eq(ImportStatus::Validated.as_str()),
            imports::rows_total.eq(as_i32(total)),
            imports::rows_valid.eq(as_i32(valid)),
            imports::rows_invalid.eq(as_i32(total - valid)),
            imports::warnings.eq(as_i32(warnings)),
            imports::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Phase two: writes the staged rows (see the module documentation). All or nothing in mode
/// `all`; the good rows in `valid_only` (`mode` overrides the mode chosen at the upload, so the
/// officer who read the report decides). Refused while the import is not `validated`.
pub async fn commit_import(
    ctx: &Services,
    importer: Importer,
    id: uuid::Uuid,
    mode: Option<ImportMode>,
) -> Result<ImportRow, CommitError> {
    let now = ctx.now();
    let scope = importer.admin.union_path.clone();
    let claimed = crate::db::run(&ctx.pool, move |conn| {
        let mut import = find_in_scope(conn, &scope, id)?.ok_or(CommitError::NotFound)?;
        if let Some(mode) = mode {
            import.mode = mode.as_str().to_owned();
        }
        if import.status() != ImportStatus::Validated {
            return Err(CommitError::NotCommittable(import.status()));
        }
        if import.mode() == ImportMode::All && import.rows_invalid > 0 {
            return Err(CommitError::HasProblems(import.rows_invalid));
        }
        let updated = diesel::update(imports::table.find(id))
            .filter(imports::status.eq(ImportStatus::Validated.as_str()))
            .set((
                imports::status.eq(ImportStatus::Committing.as_str()),
                imports::mode.eq(&import.mode),
                imports::updated_at.eq(now),
            ))
            .execute(conn)?;
        if updated == 0 {
            return Err(CommitError::NotCommittable(ImportStatus::Committing));
        }
        Ok(import)
    })
    .await?;
    let reference = ctx.reference.clone();
    let claimed_kind = claimed.kind();
    let result = crate::db::run_unbounded(&ctx.pool, move |conn| {
        crate::db::without_statement_timeout(conn, |conn| {
            conn.transaction(|conn| match claimed.kind() {
                ImportKind::Members => commit_in(conn, &importer, &claimed, now),
                ImportKind::Unions => {
                    super::union_sheet::commit_unions_in(conn, &reference, &importer, &claimed, now)
                }
            })
        })
    })
    .await;
    match result {
        Ok(row) => Ok(row),
        Err(error) => {
            // Back to validated; new conflicts (someone joined meanwhile) go in the report.
            let kind = claimed_kind;
            let reset = crate::db::run(&ctx.pool, move |conn| {
                conn.transaction(|conn| {
                    let (invalid, _) = if kind == ImportKind::Members {
                        check_against_register(conn, id)?
                    } else {
                        (0, 0)
                    };
                    if invalid > 0 {
                        let total: i32 = imports::table
                            .find(id)
                            .select(imports::rows_total)
                            .first(conn)?;
                        recount(conn, id, i64::from(total), 0, 0)?;
                    }
                    diesel::update(imports::table.find(id))
                        .set(imports::status.eq(ImportStatus::Validated.as_str()))
                        .execute(conn)?;
                    Ok::<_, StoreError>(())
                })
            })
            .await;
            if let Err(e) = reset {
                log::error!(import_id:% = id; "import could not be reset after a failed commit: {e}");
            }
            Err(error)
        }
    }
}

/// Issues numbers, writes accounts, applications, members, affiliations, events and the audit
/// row; one transaction (the caller's).
fn commit_in(
    conn: &mut PgConnection,
    importer: &Importer,
    import: &ImportRow,
    now: DateTime<Utc>,
) -> Result<ImportRow, CommitError> {
    let id = import.id;
    // Approvals wait for the few seconds of the commit; the register cannot change under it.
    conn.batch_execute("LOCK TABLE members IN SHARE ROW EXCLUSIVE MODE")?;
    let (new_invalid, _) = check_against_register(conn, id)?;
    if new_invalid > 0 && import.mode() == ImportMode::All {
        return Err(CommitError::HasProblems(
            import.rows_invalid + i32::try_from(new_invalid).unwrap_or(i32::MAX),
        ));
    }
    let year = local_date(now).year();
    conn.batch_execute(CHECK_FUNCTION)?;
    diesel::sql_query(KEPT_NUMBERS_SQL)
        .bind::<SqlUuid, _>(id)
        .execute(conn)?;
    diesel::sql_query(ISSUE_SQL)
        .bind::<SqlUuid, _>(id)
        .bind::<Int4, _>(year)
        .execute(conn)?;
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0) & 0xFFFF_FFFF_FFFF;
    diesel::sql_query(final_sql())
        .bind::<SqlUuid, _>(id)
        .bind::<Int4, _>(year)
        .bind::<Text, _>(format!("{millis:012x}"))
        .execute(conn)?;
    let written: i64 = diesel::sql_query(WRITE_SQL)
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .get_result::<Written>(conn)?
        .n;
    // The coverage counters (issue 16): the members brought in count as active members of
    // their union and its ancestors; they are no review and no new member of this day.
    let groups: Vec<ImportedGroup> = diesel::sql_query(
        "SELECT union_id, occupation, count(*) AS n FROM imp_final GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .load(conn)?;
    for group in groups {
        let n = i32::try_from(group.n).unwrap_or(i32::MAX);
        crate::store::counters::shift_active(conn, group.union_id, None, &group.occupation, n)?;
    }
    let actor = importer.admin.audit_actor();
    diesel::sql_query(REPLACED_SQL)
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .bind::<Nullable<Text>, _>(actor.id.clone())
        .bind::<Nullable<Text>, _>(actor.role)
        .bind::<Nullable<BigInt>, _>(actor.union_id)
        .execute(conn)?;
    diesel::delete(import_member_rows::table.filter(import_member_rows::import_id.eq(id)))
        .execute(conn)?;
    let row: ImportRow = diesel::update(imports::table.find(id))
        .set((
            imports::status.eq(ImportStatus::Committed.as_str()),
            imports::rows_committed.eq(i32::try_from(written).unwrap_or(i32::MAX)),
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
            action: "import_members",
            reason: Some(format!(
                "导入 {id}（{}，文件 SHA-256 {}）：共{}行，导入{}名会员，{}行未导入",
                importer.source,
                import.content_sha256,
                row.rows_total,
                written,
                row.rows_total - i32::try_from(written).unwrap_or(i32::MAX)
            )),
        },
    )?;
    log::info!(import_id:% = id, union_id = import.union_id, members = written; "import committed");
    Ok(row)
}

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The MOD 11-2 check character of a 15-digit body (as `zhijian_domain::membership_number`):
/// one expression without `FROM`, so PostgreSQL inlines the function into the query instead of
/// calling it for each row.
const CHECK_FUNCTION: &str = "
CREATE OR REPLACE FUNCTION pg_temp.imp_check(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT substr('0123456789X',
                 (12 - (substr(s, 1, 1)::int * 10 + substr(s, 2, 1)::int * 5 + substr(s, 3, 1)::int * 8
                        + substr(s, 4, 1)::int * 4 + substr(s, 5, 1)::int * 2 + substr(s, 6, 1)::int * 1
                        + substr(s, 7, 1)::int * 6 + substr(s, 8, 1)::int * 3 + substr(s, 9, 1)::int * 7
                        + substr(s, 10, 1)::int * 9 + substr(s, 11, 1)::int * 10 + substr(s, 12, 1)::int * 5
                        + substr(s, 13, 1)::int * 8 + substr(s, 14, 1)::int * 4 + substr(s, 15, 1)::int * 2)
                        % 11) % 11 + 1, 1) $$;
";

/// A version-7 UUID at the commit's time (`$3`, its 48-bit millisecond timestamp as 12 hex
/// digits): a random (version 4) UUID whose first 48 bits become the timestamp and whose
/// version digit becomes 7 — the variant bits are already right. Built-in functions only,
/// inlined in the query (a function per row would be called 300 000 times for 100 000 rows).
const NEW_UUID: &str = "overlay(overlay(gen_random_uuid()::text PLACING substr($3, 1, 8) FROM 1 FOR 8) \
                        PLACING substr($3, 9, 4) || '-7' FROM 10 FOR 6)::uuid";

/// Counters first (kept numbers raise their county-year counter so later numbers never
/// collide; new numbers take a range of this year's), then the final rows in a temporary table.
const KEPT_NUMBERS_SQL: &str = "
INSERT INTO membership_counters (county_code, year, last_value)
SELECT substr(given_number, 1, 6), (2000 + substr(given_number, 7, 2)::int)::smallint,
       max(substr(given_number, 9, 7)::int)
FROM import_member_rows WHERE import_id = $1 AND valid AND given_number IS NOT NULL
GROUP BY 1, 2
ON CONFLICT (county_code, year)
DO UPDATE SET last_value = GREATEST(membership_counters.last_value, EXCLUDED.last_value)";

const ISSUE_SQL: &str = "
CREATE TEMP TABLE imp_issue ON COMMIT DROP AS
WITH n AS (SELECT county, count(*)::int AS n FROM import_member_rows
           WHERE import_id = $1 AND valid AND given_number IS NULL GROUP BY county),
up AS (INSERT INTO membership_counters (county_code, year, last_value)
       SELECT county, $2::smallint, n FROM n
       ON CONFLICT (county_code, year)
       DO UPDATE SET last_value = membership_counters.last_value + EXCLUDED.last_value
       RETURNING county_code, last_value)
SELECT up.county_code AS county, up.last_value - n.n AS base FROM up JOIN n ON n.county = up.county_code";

fn final_sql() -> String {
    format!(
        "
CREATE TEMP TABLE imp_final ON COMMIT DROP AS
SELECT x.*, coalesce(x.given_number, x.body || pg_temp.imp_check(x.body)) AS number,
       {NEW_UUID} AS account_id, {NEW_UUID} AS application_id, {NEW_UUID} AS member_id
FROM (SELECT r.*,
             CASE WHEN r.given_number IS NULL THEN
                 r.county || lpad(($2 % 100)::text, 2, '0')
                 || lpad((i.base + row_number() OVER (PARTITION BY r.given_number IS NULL, r.county
                                                      ORDER BY r.line))::text, 7, '0') END AS body
      FROM import_member_rows r LEFT JOIN imp_issue i ON i.county = r.county
      WHERE r.import_id = $1 AND r.valid) x"
    )
}

/// The rows themselves. The application carries the person data the readers (membership view,
/// card, transfers, admin detail) read; fields a register does not hold get neutral values.
/// The members of a commit by union and group, for the coverage counters.
#[derive(diesel::QueryableByName)]
struct ImportedGroup {
    #[diesel(sql_type = BigInt)]
    union_id: i64,
    #[diesel(sql_type = Text)]
    occupation: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

const WRITE_SQL: &str = "
WITH a AS (
    INSERT INTO accounts (id, created_at, updated_at, imported)
    SELECT account_id, $1, $1, true FROM imp_final RETURNING 1
), p AS (
    INSERT INTO applications (
        id, account_id, person_index, status, version, union_id, routing_rule, routing_explanation,
        due_at, submitted_at, decided_at, name, resident_id_cipher, phone_cipher, phone_index,
        gender, birth_date, ethnicity, education, political_status, household_type,
        employment_status, occupation, employer_name, platform, work_region, work_address,
        privacy_notice_version, consented_at, channel, member_id, created_at, updated_at)
    SELECT application_id, account_id, person_index, 'approved', 1, union_id, 'joint_union',
           '批量导入', NULL, $1, $1, name, resident_id_cipher, phone_cipher, phone_index,
           gender, birth_date, 'other', 'junior_high', 'masses', 'non_agricultural',
           'flexible', occupation, coalesce(employer_name, '未填写'), platform, work_region,
           '未填写', 'import', $1, 'import', member_id, $1, $1
    FROM imp_final RETURNING 1
), m AS (
    INSERT INTO members (id, person_index, account_id, membership_number, union_id, name,
                         joined_on, status, version, application_id, created_at, updated_at)
    SELECT member_id, person_index, account_id, number, union_id, name, joined_on, 'active', 1,
           application_id, $1, $1
    FROM imp_final RETURNING 1
), f AS (
    INSERT INTO affiliations (member_id, union_id, started_at, reason, membership_number)
    SELECT member_id, union_id, (joined_on::timestamp AT TIME ZONE 'Asia/Shanghai'), 'imported', number
    FROM imp_final RETURNING 1
)
SELECT (SELECT count(*) FROM m) AS n";

/// The replaced numbers stay in each member's audit trail (old → new).
const REPLACED_SQL: &str = "
INSERT INTO audit_log (at, actor_kind, actor_id, role, union_id, object_kind, object_id, action, reason)
SELECT $1, 'admin', $2, $3, $4, 'member', member_id::text, 'replace_membership_number',
       '导入时原会员编号' || unusable_number || '无效或已被占用，换发新编号' || number
FROM imp_final WHERE unusable_number IS NOT NULL";

/// At start-up: an import validating when the server stopped failed (its file is gone: send
/// it again); one committing did not commit (its transaction rolled back): validated again.
pub async fn recover_interrupted(ctx: &Services) -> Result<usize, StoreError> {
    crate::db::run(&ctx.pool, |conn| {
        let failed = diesel::update(
            imports::table.filter(imports::status.eq(ImportStatus::Validating.as_str())),
        )
        .set((
            imports::status.eq(ImportStatus::Failed.as_str()),
            imports::failure.eq("服务重启，校验中断，请重新上传文件"),
        ))
        .execute(conn)?;
        let reset = diesel::update(
            imports::table.filter(imports::status.eq(ImportStatus::Committing.as_str())),
        )
        .set(imports::status.eq(ImportStatus::Validated.as_str()))
        .execute(conn)?;
        Ok(failed + reset)
    })
    .await
}
