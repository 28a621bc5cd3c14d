//! The SQL written by hand, and the policy that keeps it rare.
//!
//! # Policy
//!
//! Every statement is written with Diesel's DSL (`schema.rs` checks its columns and types at
//! compile time) — unless the DSL cannot express it. Hand-written SQL is allowed for these kinds
//! of statement only:
//!
//! 1. **the submission's data-modifying CTE**: the membership check, the idempotency key, the
//!    application, its timeline, the audit row, the outbox event and `pg_notify` in one
//!    statement ([`SUBMIT`]);
//! 2. **the subtree page**: the keyset page over the parts of a subtree ([`subtree`]);
//! 3. **the outbox claims**: `FOR UPDATE SKIP LOCKED` inside an `UPDATE … FROM` CTE, and the
//!    settlement that goes with them ([`crate::usecases::delivery::claim`],
//!    [`crate::usecases::delivery::settle`]);
//! 4. **`LISTEN` / `NOTIFY`** on the outbox channel ([`LISTEN_OUTBOX`], [`NOTIFY_OUTBOX`]);
//! 5. **a union's move**: the subtree's paths and anchors, and the batches that re-anchor its
//!    rows ([`union_moves`]).
//! 6. **the "near me" search** over the earthdistance index ([`stations::NEARBY`]);
//! 7. **the grant of welcome benefits** at approval: the stock decrements and the records in
//!    one data-modifying CTE ([`stations::GRANT`]).
//!
//! Each is a named constant or builder here (or named by one of the constants below while it
//! still lives in its module), registered in [`statements`]; the integration test
//! `integration-tests/tests/api/sql.rs` prepares every registered statement against a freshly
//! migrated database (`PREPARE` with the parameter types the code binds, or — for what
//! PostgreSQL cannot prepare — runs it in a transaction that is rolled back), so a migration
//! that breaks one fails the tests, not production. Anything else written in SQL is a defect
//! to convert to the DSL. Statements are run with numbered parameters through
//! [`crate::db::Numbered`] (prepared once per connection), never with values formatted into
//! the text.
//!
//! # Where the hand-written statements live
//!
//! In the policy, not yet moved here (their modules are being reworked; move them when that
//! settles):
//!
//! - the submission: `crate::store::applications::SUBMIT_SQL` (a `pub const`, registered
//!   here);
//! - the outbox claim and settlement: `crate::usecases::delivery::{claim, settle}`, written
//!   inline — the test runs both on an empty outbox inside a rolled-back transaction;
//!
//! Outside the policy, to convert to the DSL (or justify and register here):
//!
//! - `crate::usecases::escalation::scan`: the candidates (`NOT EXISTS` over `deadline_alerts`);
//! - `crate::store::review_stats::subtree_figures`: the figures of a union and its children
//!   (`CROSS JOIN LATERAL` sums);
//! - `crate::store::audit_trail::list`: the rows of a page (`l.id = ANY($1)` with the union's
//!   name) and `ids_of_object` (one object's rows within a subtree);
//! - `crate::store::regions::import_regions`: the temporary table and the upsert of changed
//!   rows (`IS DISTINCT FROM`);
//! - `crate::db::migrations`: `pg_advisory_lock` / `pg_advisory_unlock` around the
//!   migrations; `crate::db::ping` (`SELECT 1`) and the session setting `SET jit = off`
//!   (`crate::db`) — trivial, but text all the same.
//!
//! The development tools (`zhijian-dev`: the demo's advisory lock, the benchmark data
//! generator's bulk `INSERT … SELECT generate_series`, index drops and `VACUUM`) are not part
//! of the server and are exempt.

pub mod stations;
pub mod subtree;
pub mod union_moves;

/// The submission's data-modifying CTE (policy item 1); the statement lives in
/// `crate::store::applications`.
pub const SUBMIT: &str = crate::store::applications::SUBMIT_SQL;

/// The SQL types of [`SUBMIT`]'s `$1`…`$11`, as `SubmitStatement` binds them.
pub const SUBMIT_PARAMETERS: [&str; 11] = [
    "jsonb", "jsonb", "text[]", "text[]", "text", "text", "text", "int2", "jsonb", "text", "jsonb",
];

/// Wakes the outbox dispatchers at commit (policy item 4).
pub const NOTIFY_OUTBOX: &str = "NOTIFY outbox";

/// Subscribes a dispatcher's own connection to [`NOTIFY_OUTBOX`] (policy item 4).
pub const LISTEN_OUTBOX: &str = "LISTEN outbox";

/// One hand-written statement, as the tests check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// What it is (unique).
    pub name: String,
    /// The text, with numbered parameters.
    pub sql: String,
    /// The SQL types of `$1`, `$2`… as the code binds them; `None` for a statement PostgreSQL
    /// cannot `PREPARE` (`LISTEN`, `NOTIFY`), which the test runs inside a rolled-back
    /// transaction instead.
    pub parameters: Option<Vec<&'static str>>,
}

/// Every hand-written statement that has a name: the constants of this module and each form
/// of the subtree page the store builds.
pub fn statements() -> Vec<Statement> {
    let mut all = vec![
        Statement {
            name: "submit".to_owned(),
            sql: SUBMIT.to_owned(),
            parameters: Some(SUBMIT_PARAMETERS.to_vec()),
        },
        Statement {
            name: "notify outbox".to_owned(),
            sql: NOTIFY_OUTBOX.to_owned(),
            parameters: None,
        },
        Statement {
            name: "listen outbox".to_owned(),
            sql: LISTEN_OUTBOX.to_owned(),
            parameters: None,
        },
    ];
    all.extend(subtree::statements());
    all.extend(union_moves::statements());
    all.push(Statement {
        name: "nearby stations".to_owned(),
        sql: stations::NEARBY.to_owned(),
        parameters: Some(stations::NEARBY_PARAMETERS.to_vec()),
    });
    all.push(Statement {
        name: "grant benefits".to_owned(),
        sql: stations::GRANT.to_owned(),
        parameters: Some(stations::GRANT_PARAMETERS.to_vec()),
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_has_its_own_name() {
        let all = statements();
        let mut names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn every_parameter_used_has_a_type() {
        for statement in statements() {
            let used = highest_parameter(&statement.sql);
            let typed = statement.parameters.as_ref().map_or(0, Vec::len);
            assert!(
                used <= typed,
                "{}: ${used} used, {typed} typed",
                statement.name
            );
        }
    }

    fn highest_parameter(sql: &str) -> usize {
        sql.split('$')
            .skip(1)
            .filter_map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .max()
            .unwrap_or(0)
    }
}
