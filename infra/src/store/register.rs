//! The member register of a subtree (会员名册), read through a server-side cursor so that an
//! export of a million members holds one batch at a time, and sees one snapshot when the
//! cursor's transaction is `REPEATABLE READ`.
//!
//! A member's personal data (resident ID, phone, gender, birth date, occupation, employer) is
//! the approved application's: [`select_sql`] joins `members` to `applications` on
//! `members.application_id`.

use std::collections::HashMap;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text};
use zhijian_domain::admin::UnionPath;
use zhijian_domain::member::MemberStatus;

use crate::db::StoreError;
use crate::db::schema::unions;

/// Rows fetched from the cursor at a time: what the export holds in memory, whatever the size
/// of the register.
pub const BATCH_ROWS: i64 = 500;

/// The cursor's name, inside the export's transaction.
const CURSOR: &str = "member_register";

/// One member's line as stored (personal data still sealed).
#[derive(Debug, Clone, QueryableByName)]
pub struct RegisterRow {
    /// The current membership number.
    #[diesel(sql_type = Text)]
    pub membership_number: String,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Sealed resident ID.
    #[diesel(sql_type = Text)]
    pub resident_id_cipher: String,
    /// Sealed phone.
    #[diesel(sql_type = Text)]
    pub phone_cipher: String,
    /// `male` / `female`.
    #[diesel(sql_type = Text)]
    pub gender: String,
    /// Birth date.
    #[diesel(sql_type = Date)]
    pub birth_date: chrono::NaiveDate,
    /// Occupation group.
    #[diesel(sql_type = Text)]
    pub occupation: String,
    /// The member's union.
    #[diesel(sql_type = BigInt)]
    pub union_id: i64,
    /// The day the membership began.
    #[diesel(sql_type = Date)]
    pub joined_on: chrono::NaiveDate,
    /// Status as stored.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Employer.
    #[diesel(sql_type = Text)]
    pub employer_name: String,
    /// Platform.
    #[diesel(sql_type = Nullable<Text>)]
    pub platform: Option<String>,
}

/// The statement reading the register of the subtree under `scope` (only members in `status`
/// when given), by union then membership number. Also what the export benchmark hands to
/// `COPY (…) TO STDOUT`, so both read the same rows and columns.
///
/// The values are written as literals (a cursor's `DECLARE` takes no bound parameters): a
/// [`UnionPath`] prints as digits and slashes and a status as its snake_case name, so neither
/// can carry a quote; [`literal`] doubles any quote all the same.
pub fn select_sql(scope: &UnionPath, status: Option<MemberStatus>) -> String {
    let status = status.map_or(String::new(), |s| {
        format!(" AND m.status = {}", literal(s.as_str()))
    });
    format!(
        "SELECT m.membership_number, m.name, a.resident_id_cipher, a.phone_cipher, a.gender, \
         a.birth_date, a.occupation, m.union_id, m.joined_on, m.status, a.employer_name, \
         a.platform \
         FROM members m \
         JOIN unions u ON u.id = m.union_id \
         JOIN applications a ON a.id = m.application_id \
         WHERE u.path >= {} AND u.path < {}{status} \
         ORDER BY u.path, m.membership_number",
        literal(&scope.to_string()),
        literal(&scope.subtree_end()),
    )
}

fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Inside the export's transaction: opens the cursor over [`select_sql`].
pub fn open(
    conn: &mut PgConnection,
    scope: &UnionPath,
    status: Option<MemberStatus>,
) -> Result<(), StoreError> {
    diesel::sql_query(format!(
        "DECLARE {CURSOR} NO SCROLL CURSOR FOR {}",
        select_sql(scope, status)
    ))
    .execute(conn)?;
    Ok(())
}

/// The next batch (at most [`BATCH_ROWS`]); empty at the end.
pub fn fetch(conn: &mut PgConnection) -> Result<Vec<RegisterRow>, StoreError> {
    Ok(
        diesel::sql_query(format!("FETCH FORWARD {BATCH_ROWS} FROM {CURSOR}"))
            .load::<RegisterRow>(conn)?,
    )
}

/// A union of the register: its name and the names from the root down to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionLabel {
    /// Name.
    pub name: String,
    /// `江苏省总工会/南京市总工会/…`, the union itself last.
    pub path_names: String,
}

/// The labels of every union of the subtree under `scope` (and of its ancestors, for the path
/// names). Grows with the number of unions, not of members.
pub fn union_labels(
    conn: &mut PgConnection,
    scope: &UnionPath,
) -> Result<HashMap<i64, UnionLabel>, StoreError> {
    let ancestors: Vec<i64> = scope.ids().iter().map(|id| id.get()).collect();
    let rows: Vec<(i64, String, String)> = unions::table
        .filter(
            unions::path
                .ge(scope.to_string())
                .and(unions::path.lt(scope.subtree_end()))
                .or(unions::id.eq_any(&ancestors)),
        )
        .select((unions::id, unions::name, unions::path))
        .load(conn)?;
    let names: HashMap<i64, String> = rows
        .iter()
        .map(|(id, name, _)| (*id, name.clone()))
        .collect();
    Ok(rows
        .into_iter()
        .map(|(id, name, path)| {
            let path_names = UnionPath::parse(&path)
                .map(|p| {
                    p.ids()
                        .iter()
                        .filter_map(|id| names.get(&id.get()).map(String::as_str))
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_else(|_| name.clone());
            (id, UnionLabel { name, path_names })
        })
        .collect())
}
