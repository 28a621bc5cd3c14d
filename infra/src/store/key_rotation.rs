//! Where personal data sits under which key: the sealed columns (ciphertexts
//! `v1.<key id>.…`), the blind-index columns (`<key id>:<hex>`, bare hex for
//! [`LEGACY_BLIND_KEY_ID`]), and the batches that move rows to the current keys.
//!
//! Every statement names its table and column from the fixed lists below (never from input);
//! key ids are bound as parameters. A batch locks its rows (`FOR UPDATE SKIP LOCKED`), so two
//! servers re-encrypting at once never take the same row, and walks the table by `ctid` from
//! where the previous batch stopped (a TID range scan), so a pass reads each row once.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::crypto::pii::{LEGACY_BLIND_KEY_ID, PiiCipher};
use crate::db::StoreError;
use crate::store::second_factors::SECRET_CONTEXT;

/// A column holding sealed values.
#[derive(Debug, Clone, Copy)]
pub struct SealedColumn {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// The context (associated data) its values are sealed for.
    pub context: &'static str,
}

/// Every column that holds sealed values.
pub const SEALED_COLUMNS: [SealedColumn; 7] = [
    SealedColumn {
        table: "accounts",
        column: "phone_cipher",
        context: "phone",
    },
    SealedColumn {
        table: "admins",
        column: "phone_cipher",
        context: "phone",
    },
    SealedColumn {
        table: "applications",
        column: "resident_id_cipher",
        context: "resident_id",
    },
    SealedColumn {
        table: "applications",
        column: "phone_cipher",
        context: "phone",
    },
    SealedColumn {
        table: "import_member_rows",
        column: "resident_id_cipher",
        context: "resident_id",
    },
    SealedColumn {
        table: "import_member_rows",
        column: "phone_cipher",
        context: "phone",
    },
    SealedColumn {
        table: "admin_second_factors",
        column: "secret_cipher",
        context: SECRET_CONTEXT,
    },
];

/// A column holding blind indexes, and where the value it indexes can be read back.
#[derive(Debug, Clone, Copy)]
pub struct IndexColumn {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// The kind the index is computed for (`resident_id`, `phone`).
    pub kind: &'static str,
    /// An SQL expression (over the row, as `t`) giving the sealed value the index is computed
    /// from; `None` when the value is not kept (recovery codes: only their hash is stored, so
    /// they keep their key until used or regenerated).
    pub source: Option<&'static str>,
    /// The context of that sealed value.
    pub context: &'static str,
}

/// Every column that holds blind indexes.
pub const INDEX_COLUMNS: [IndexColumn; 7] = [
    IndexColumn {
        table: "accounts",
        column: "phone_index",
        kind: "phone",
        source: Some("t.phone_cipher"),
        context: "phone",
    },
    IndexColumn {
        table: "applications",
        column: "person_index",
        kind: "resident_id",
        source: Some("t.resident_id_cipher"),
        context: "resident_id",
    },
    IndexColumn {
        table: "applications",
        column: "phone_index",
        kind: "phone",
        source: Some("t.phone_cipher"),
        context: "phone",
    },
    IndexColumn {
        table: "members",
        column: "person_index",
        kind: "resident_id",
        source: Some(
            "(SELECT a.resident_id_cipher FROM applications a WHERE a.id = t.application_id)",
        ),
        context: "resident_id",
    },
    IndexColumn {
        table: "import_member_rows",
        column: "person_index",
        kind: "resident_id",
        source: Some("t.resident_id_cipher"),
        context: "resident_id",
    },
    IndexColumn {
        table: "import_member_rows",
        column: "phone_index",
        kind: "phone",
        source: Some("t.phone_cipher"),
        context: "phone",
    },
    IndexColumn {
        table: "admin_recovery_codes",
        column: "code_hash",
        kind: "admin_recovery_code",
        source: None,
        context: "",
    },
];

/// The key id of a sealed value, in SQL.
fn sealed_key(column: &str) -> String {
    format!("split_part(t.{column}, '.', 2)")
}

/// Sealed values (not the empty placeholder of erased rows).
fn sealed_present(column: &str) -> String {
    format!("t.{column} IS NOT NULL AND t.{column} <> ''")
}

/// The key id of a blind index, in SQL.
fn index_key(column: &str) -> String {
    format!(
        "CASE WHEN position(':' IN t.{column}) = 0 THEN '{LEGACY_BLIND_KEY_ID}' \
         ELSE split_part(t.{column}, ':', 1) END"
    )
}

/// Indexes (not the `erased:` placeholders of erased rows).
fn index_present(column: &str) -> String {
    format!("t.{column} IS NOT NULL AND t.{column} NOT LIKE 'erased:%'")
}

#[derive(QueryableByName)]
struct KeyCount {
    #[diesel(sql_type = Text)]
    key_id: String,
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

/// How many rows each key id holds: `(kind, key id, rows)`, kind `encryption` or
/// `blind_index`, summed over every column.
pub fn rows_by_key(
    conn: &mut PgConnection,
) -> Result<Vec<(&'static str, String, i64)>, StoreError> {
    let mut found: Vec<(&'static str, String, i64)> = Vec::new();
    let mut add = |kind: &'static str, counts: Vec<KeyCount>| {
        for c in counts {
            match found
                .iter_mut()
                .find(|(k, id, _)| *k == kind && *id == c.key_id)
            {
                Some(entry) => entry.2 += c.rows,
                None => found.push((kind, c.key_id, c.rows)),
            }
        }
    };
    for c in SEALED_COLUMNS {
        let sql = format!(
            "SELECT {key} AS key_id, count(*) AS rows FROM {table} t WHERE {present} GROUP BY 1",
            key = sealed_key(c.column),
            table = c.table,
            present = sealed_present(c.column),
        );
        add("encryption", diesel::sql_query(sql).load(conn)?);
    }
    for c in INDEX_COLUMNS {
        let sql = format!(
            "SELECT {key} AS key_id, count(*) AS rows FROM {table} t WHERE {present} GROUP BY 1",
            key = index_key(c.column),
            table = c.table,
            present = index_present(c.column),
        );
        add("blind_index", diesel::sql_query(sql).load(conn)?);
    }
    found.sort();
    Ok(found)
}

/// Rows not yet under the current keys: `(encryption, blind_index)`. Recovery-code hashes
/// cannot be recomputed and are not counted here (they count against retiring their key).
pub fn remaining(conn: &mut PgConnection, pii: &PiiCipher) -> Result<(i64, i64), StoreError> {
    let mut sealed = 0;
    for c in SEALED_COLUMNS {
        let sql = format!(
            "SELECT count(*) AS count FROM {table} t WHERE {present} AND {key} <> $1",
            table = c.table,
            present = sealed_present(c.column),
            key = sealed_key(c.column),
        );
        sealed += diesel::sql_query(sql)
            .bind::<Text, _>(pii.current_key_id())
            .get_result::<Count>(conn)?
            .count;
    }
    let mut indexed = 0;
    for c in INDEX_COLUMNS.iter().filter(|c| c.source.is_some()) {
        let sql = format!(
            "SELECT count(*) AS count FROM {table} t WHERE {present} AND {key} <> $1",
            table = c.table,
            present = index_present(c.column),
            key = index_key(c.column),
        );
        indexed += diesel::sql_query(sql)
            .bind::<Text, _>(pii.current_blind_index_key_id())
            .get_result::<Count>(conn)?
            .count;
    }
    Ok((sealed, indexed))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct Stale {
    #[diesel(sql_type = Text)]
    at: String,
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    source: Option<String>,
}

/// One batch of one column: what it moved, and where the next batch starts (`None`: the
/// pass over the table is complete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Rows moved to the current key.
    pub moved: usize,
    /// Rows left on their key because their value cannot be read back (logged).
    pub skipped: usize,
    /// The `ctid` after which the next batch starts.
    pub next: Option<String>,
}

/// Re-seals up to `limit` values of `column` sealed with another key than the current one,
/// from `after` (a `ctid`, `(0,0)` to start). One transaction.
pub fn reseal_batch(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    column: SealedColumn,
    after: &str,
    limit: i64,
) -> Result<Batch, StoreError> {
    conn.transaction(|conn| {
        let sql = format!(
            "SELECT t.ctid::text AS at, t.{col} AS value, NULL::text AS source FROM {table} t \
             WHERE t.ctid > $1::tid AND {present} AND {key} <> $2 \
             ORDER BY t.ctid LIMIT $3 FOR UPDATE SKIP LOCKED",
            col = column.column,
            table = column.table,
            present = sealed_present(column.column),
            key = sealed_key(column.column),
        );
        let rows: Vec<Stale> = diesel::sql_query(sql)
            .bind::<Text, _>(after)
            .bind::<Text, _>(pii.current_key_id())
            .bind::<BigInt, _>(limit)
            .load(conn)?;
        let mut batch = Batch {
            moved: 0,
            skipped: 0,
            next: next_cursor(&rows, limit),
        };
        let update = format!(
            "UPDATE {table} SET {col} = $1 WHERE ctid = $2::tid AND {col} = $3",
            table = column.table,
            col = column.column,
        );
        for row in rows {
            let resealed = pii
                .decrypt(&row.value, column.context)
                .and_then(|clear| pii.encrypt(&clear, column.context));
            match resealed {
                Ok(sealed) => {
                    batch.moved += diesel::sql_query(&update)
                        .bind::<Text, _>(sealed.to_string())
                        .bind::<Text, _>(&row.at)
                        .bind::<Text, _>(&row.value)
                        .execute(conn)?;
                }
                Err(e) => {
                    log::warn!(
                        "key rotation: {}.{} at {} does not open ({e}); left as it is",
                        column.table,
                        column.column,
                        row.at
                    );
                    batch.skipped += 1;
                }
            }
        }
        Ok(batch)
    })
}

/// Recomputes up to `limit` blind indexes of `column` computed with another key than the
/// current one, from `after`. The unique indexes hold throughout: a recomputed index is a
/// different string for the same person, and every lookup tries every key.
pub fn reindex_batch(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    column: IndexColumn,
    after: &str,
    limit: i64,
) -> Result<Batch, StoreError> {
    let Some(source) = column.source else {
        return Ok(Batch {
            moved: 0,
            skipped: 0,
            next: None,
        });
    };
    conn.transaction(|conn| {
        let sql = format!(
            "SELECT t.ctid::text AS at, t.{col} AS value, {source} AS source FROM {table} t \
             WHERE t.ctid > $1::tid AND {present} AND {key} <> $2 \
             ORDER BY t.ctid LIMIT $3 FOR UPDATE OF t SKIP LOCKED",
            col = column.column,
            table = column.table,
            present = index_present(column.column),
            key = index_key(column.column),
        );
        let rows: Vec<Stale> = diesel::sql_query(sql)
            .bind::<Text, _>(after)
            .bind::<Text, _>(pii.current_blind_index_key_id())
            .bind::<BigInt, _>(limit)
            .load(conn)?;
        let mut batch = Batch {
            moved: 0,
            skipped: 0,
            next: next_cursor(&rows, limit),
        };
        let update = format!(
            "UPDATE {table} SET {col} = $1 WHERE ctid = $2::tid AND {col} = $3",
            table = column.table,
            col = column.column,
        );
        for row in rows {
            let clear = row
                .source
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|sealed| pii.decrypt(sealed, column.context));
            match clear {
                Some(Ok(clear)) => {
                    batch.moved += diesel::sql_query(&update)
                        .bind::<Text, _>(pii.blind_index(column.kind, &clear))
                        .bind::<Text, _>(&row.at)
                        .bind::<Text, _>(&row.value)
                        .execute(conn)?;
                }
                other => {
                    let why = match other {
                        Some(Err(e)) => e.to_string(),
                        _ => "its sealed value is gone".to_owned(),
                    };
                    log::warn!(
                        "key rotation: {}.{} at {} cannot be re-indexed ({why}); left as it is",
                        column.table,
                        column.column,
                        row.at
                    );
                    batch.skipped += 1;
                }
            }
        }
        Ok(batch)
    })
}

fn next_cursor(rows: &[Stale], limit: i64) -> Option<String> {
    if i64::try_from(rows.len()).unwrap_or(i64::MAX) < limit {
        None
    } else {
        rows.last().map(|r| r.at.clone())
    }
}

/// The keys registered as possibly holding rows (`pii_keys`): `(kind, key id)`.
pub fn registered(conn: &mut PgConnection) -> Result<Vec<(String, String)>, StoreError> {
    use crate::db::schema::pii_keys;
    Ok(pii_keys::table
        .select((pii_keys::kind, pii_keys::key_id))
        .order((pii_keys::kind, pii_keys::key_id))
        .load(conn)?)
}

/// Registers key `id` of `kind` (`encryption`, `blind_index`) as possibly holding rows.
pub fn register(conn: &mut PgConnection, kind: &str, id: &str) -> Result<(), StoreError> {
    use crate::db::schema::pii_keys;
    diesel::insert_into(pii_keys::table)
        .values((pii_keys::kind.eq(kind), pii_keys::key_id.eq(id)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}

/// Forgets key `id` of `kind` (retired: no row uses it).
pub fn unregister(conn: &mut PgConnection, kind: &str, id: &str) -> Result<(), StoreError> {
    use crate::db::schema::pii_keys;
    diesel::delete(
        pii_keys::table
            .filter(pii_keys::kind.eq(kind))
            .filter(pii_keys::key_id.eq(id)),
    )
    .execute(conn)?;
    Ok(())
}
