//! Exporting the member register (会员名册) of a subtree as CSV or XLSX, streamed.
//!
//! [`export_register`] checks the union asked for (inside the admin's subtree, else not found),
//! then starts one blocking task that
//!
//! 1. opens a `REPEATABLE READ, READ ONLY` transaction, so the whole file is one snapshot of
//!    the register, and a server-side cursor over it ([`crate::store::register`]);
//! 2. fetches [`register::BATCH_ROWS`] rows at a time, decrypts each member's resident ID and
//!    phone (masked unless the admin's role may see personal data), and writes the lines into
//!    the file ([`crate::register_file`]), whose chunks go to a bounded channel the HTTP layer
//!    drains — memory holds one batch and a few chunks, whatever the size of the register;
//! 3. when the file ends — complete, or cut short because the client went away or the
//!    database failed — writes the audit row: the admin, the union, the filters, the number of
//!    lines written and whether the file was complete. The body's end reaches the client only
//!    after that row is committed.
//!
//! The audit row is written in every case, in its own transaction after the reading one: a
//! client that disconnects after receiving part of the register still leaves a row
//! (`outcome=aborted`, `rows` = the lines written so far, an upper bound of what it received).
//! Only a crash of the server itself between the first byte and the end loses it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use diesel::Connection;
use diesel::pg::PgConnection;
use tokio::sync::mpsc;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::export::{ExportFormat, REGISTER_COLUMNS, RegisterLine};
use zhijian_domain::ids::UnionId;
use zhijian_domain::member::MemberStatus;
use zhijian_domain::phone::PhoneNumber;
use zhijian_domain::resident_id::ResidentId;

use crate::crypto::pii::PiiCipher;
use crate::db::{self, StoreError};
use crate::register_file::{
    CHANNEL_CHUNKS, Chunk, ChunkWriter, FileAborted, RegisterFile, WriteError,
};
use crate::store::applications::AdminActor;
use crate::store::audit::{self, AuditEntry};
use crate::store::register::{self, RegisterRow, UnionLabel};
use crate::usecases::Services;
use crate::usecases::applications::PiiShown;

/// The longest one statement of an export may take (the first `FETCH` sorts the register).
const EXPORT_STATEMENT_TIMEOUT: &str = "600s";

/// How long the export's transaction may wait for a slow client between two batches.
const EXPORT_IDLE_TIMEOUT: &str = "300s";

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRequest {
    /// The file format.
    pub format: ExportFormat,
    /// The union whose subtree is exported; the admin's own when absent.
    pub union: Option<UnionId>,
    /// Only members in this status.
    pub status: Option<MemberStatus>,
    /// Personal data in clear or masked.
    pub shown: PiiShown,
}

/// An export under way.
#[derive(Debug)]
pub struct RegisterExport {
    /// The union whose subtree is exported.
    pub union_id: i64,
    /// Its name (for the file name).
    pub union_name: String,
    /// The file, chunk by chunk; an `Err` means it could not be finished.
    pub chunks: mpsc::Receiver<Chunk>,
}

/// Why an export could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No such union, or outside the admin's subtree.
    #[error("not found")]
    NotFound,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Starts the export of the register of `request.union`'s subtree (the admin's own union by
/// default); see the module documentation.
pub async fn export_register(
    ctx: &Services,
    admin: AdminActor,
    request: ExportRequest,
) -> Result<RegisterExport, ExportError> {
    let target = request.union.unwrap_or(admin.union_path.union());
    let scope = admin.union_path.clone();
    let (union_path, union_name) = db::run(&ctx.pool, move |conn| {
        let union = crate::store::unions::find(conn, target)?.ok_or(ExportError::NotFound)?;
        let path = UnionPath::parse(&union.path)
            .map_err(|e| StoreError::broken(format!("union {}: {e}", union.id)))?;
        if !scope.contains(&path) {
            return Err(ExportError::NotFound);
        }
        Ok((path, union.name))
    })
    .await?;
    let (sender, chunks) = mpsc::channel(CHANNEL_CHUNKS);
    let job = ExportJob {
        pool: ctx.pool.clone(),
        pii: ctx.pii.clone(),
        admin,
        scope: union_path,
        request,
        at: ctx.now(),
        request_id: crate::log_context::current(),
    };
    tokio::task::spawn_blocking(move || job.run(sender));
    Ok(RegisterExport {
        union_id: target.get(),
        union_name,
        chunks,
    })
}

/// Everything the blocking task needs.
struct ExportJob {
    pool: db::PgPool,
    pii: std::sync::Arc<PiiCipher>,
    admin: AdminActor,
    scope: UnionPath,
    request: ExportRequest,
    at: chrono::DateTime<chrono::Utc>,
    request_id: Option<std::sync::Arc<str>>,
}

/// How the file ended.
enum Outcome {
    Complete,
    ClientGone,
    Failed(String),
}

impl ExportJob {
    fn run(self, sender: mpsc::Sender<Chunk>) {
        let _context = crate::log_context::enter_blocking(self.request_id.clone());
        let started = std::time::Instant::now();
        let mut conn = match self.pool.get() {
            Ok(conn) => conn,
            Err(e) => {
                log::error!(error:% = e; "register export: no database connection");
                let _ = sender.blocking_send(Err(FileAborted));
                return;
            }
        };
        let mut rows = 0u64;
        let out = ChunkWriter::new(sender.clone());
        let outcome = match self.write(&mut conn, out, &mut rows) {
            Ok(()) => Outcome::Complete,
            Err(ExportFailure::Write(WriteError::Disconnected)) => Outcome::ClientGone,
            Err(e) => Outcome::Failed(e.to_string()),
        };
        if let Outcome::Failed(_) = outcome {
            let _ = sender.blocking_send(Err(FileAborted));
        }
        // The body ends when the last sender drops: after the audit row is committed, so a
        // client that holds the whole file knows its export is in the audit trail.
        let audited = self.audit(&mut conn, rows, &outcome);
        drop(sender);
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match (&outcome, audited) {
            (_, Err(e)) => {
                log::error!(error:% = e, rows, duration_ms; "register export: audit row not written");
            }
            (Outcome::Failed(e), Ok(())) => {
                log::error!(error:% = e, rows, duration_ms; "register export failed");
            }
            (Outcome::ClientGone, Ok(())) => {
                log::info!(rows, duration_ms; "register export: the client went away");
            }
            (Outcome::Complete, Ok(())) => {
                log::info!(rows, duration_ms; "register exported");
            }
        }
    }

    /// Reads the register in one snapshot and writes the file; counts the lines in `rows`.
    fn write(
        &self,
        conn: &mut PgConnection,
        out: ChunkWriter,
        rows: &mut u64,
    ) -> Result<(), ExportFailure> {
        let mut file = RegisterFile::start(self.request.format, out)?;
        conn.build_transaction().repeatable_read().read_only().run(
            |conn| -> Result<(), ExportFailure> {
                for setting in [
                    format!("SET LOCAL statement_timeout = '{EXPORT_STATEMENT_TIMEOUT}'"),
                    format!(
                        "SET LOCAL idle_in_transaction_session_timeout = '{EXPORT_IDLE_TIMEOUT}'"
                    ),
                ] {
                    diesel::RunQueryDsl::execute(diesel::sql_query(setting), conn)?;
                }
                let labels = register::union_labels(conn, &self.scope)?;
                register::open(conn, &self.scope, self.request.status)?;
                loop {
                    let batch = register::fetch(conn)?;
                    if batch.is_empty() {
                        return Ok(());
                    }
                    for row in &batch {
                        let line = decrypt(&self.pii, row, self.request.shown)?;
                        file.line(&line.cells(row, &labels)?)?;
                        *rows += 1;
                    }
                    file.end_batch()?;
                }
            },
        )?;
        file.finish()?;
        Ok(())
    }

    fn audit(
        &self,
        conn: &mut PgConnection,
        rows: u64,
        outcome: &Outcome,
    ) -> Result<(), StoreError> {
        let mut reason = format!(
            "format={} union={} status={} pii={} rows={rows} outcome=",
            self.request.format.as_str(),
            self.scope.union(),
            self.request.status.map_or("all", MemberStatus::as_str),
            match self.request.shown {
                PiiShown::Clear => "clear",
                PiiShown::Masked => "masked",
            },
        );
        let _ = write!(
            reason,
            "{}",
            match outcome {
                Outcome::Complete => "complete",
                Outcome::ClientGone => "aborted",
                Outcome::Failed(_) => "failed",
            }
        );
        conn.transaction(|conn| {
            audit::record(
                conn,
                &AuditEntry {
                    at: self.at,
                    actor: &self.admin.audit_actor(),
                    object_kind: "union",
                    object_id: self.scope.union().to_string(),
                    action: "export_members",
                    reason: Some(reason),
                },
            )
        })
    }
}

/// Why the file could not be finished.
#[derive(Debug, thiserror::Error)]
enum ExportFailure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<diesel::result::Error> for ExportFailure {
    fn from(error: diesel::result::Error) -> Self {
        Self::Store(error.into())
    }
}

/// A row's personal data, decrypted and masked as asked.
struct Decrypted {
    resident_id: String,
    phone: String,
}

fn decrypt(pii: &PiiCipher, row: &RegisterRow, shown: PiiShown) -> Result<Decrypted, StoreError> {
    let broken = |e: &dyn std::fmt::Display| {
        StoreError::broken(format!("member {}: {e}", row.membership_number))
    };
    let resident_id = pii
        .decrypt(&row.resident_id_cipher, "resident_id")
        .map_err(|e| broken(&e))?;
    let phone = pii
        .decrypt(&row.phone_cipher, "phone")
        .map_err(|e| broken(&e))?;
    Ok(match shown {
        PiiShown::Clear => Decrypted { resident_id, phone },
        PiiShown::Masked => Decrypted {
            resident_id: ResidentId::parse_stored(&resident_id)
                .map_err(|e| broken(&e))?
                .masked(),
            phone: PhoneNumber::parse(&phone).map_err(|e| broken(&e))?.masked(),
        },
    })
}

impl Decrypted {
    fn cells<'a>(
        &'a self,
        row: &'a RegisterRow,
        labels: &'a HashMap<i64, UnionLabel>,
    ) -> Result<[Cow<'a, str>; REGISTER_COLUMNS], StoreError> {
        let union = labels.get(&row.union_id).ok_or_else(|| {
            StoreError::broken(format!("union {} is not in the subtree", row.union_id))
        })?;
        let status = MemberStatus::parse(&row.status)
            .map_err(|e| StoreError::broken(format!("member {}: {e}", row.membership_number)))?;
        Ok(RegisterLine {
            membership_number: &row.membership_number,
            name: &row.name,
            resident_id: &self.resident_id,
            phone: &self.phone,
            gender: &row.gender,
            birth_date: row.birth_date,
            occupation: &row.occupation,
            union_name: &union.name,
            union_id: row.union_id,
            union_path_names: &union.path_names,
            joined_on: row.joined_on,
            status,
            employer: &row.employer_name,
            platform: row.platform.as_deref(),
        }
        .cells())
    }
}
