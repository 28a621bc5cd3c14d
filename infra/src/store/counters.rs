//! Coverage counters (issue 16): per union × occupation group × Beijing day, and the gauge of
//! active members per union × group, written in the transaction of each event at the union
//! and every ancestor (`union_chain`), so the figures of a subtree are the rows of one union.
//!
//! Each write goes to the slot of its connection (`pg_backend_pid() % 8`): two transactions on
//! two connections rarely touch the same row, even the root's on a busy day; readers sum the
//! slots. A write is one statement, rows locked in ascending union order.
//!
//! What each counter means is `zhijian_domain::stats`; its SQL definition, the recount from the
//! base tables, is `union_stats_recount()` (migration `counters`), which [`differences`]
//! compares with the counters and [`rebuild`] writes.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Integer, Nullable, Text, Timestamptz};
use zhijian_domain::stats::{Counter, Deltas};

use crate::db::StoreError;

/// How many slots a counter row is spread over.
pub const SLOTS: i32 = 8;

fn columns() -> String {
    Counter::ALL
        .iter()
        .map(|c| c.column())
        .collect::<Vec<_>>()
        .join(", ")
}

fn daily_sql() -> String {
    let cols = columns();
    let values = Counter::ALL
        .iter()
        .enumerate()
        .map(|(i, _)| format!("CASE WHEN r.plus THEN $4[{n}] ELSE $6[{n}] END", n = i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let sets = Counter::ALL
        .iter()
        .map(|c| format!("{0} = union_stats_daily.{0} + EXCLUDED.{0}", c.column()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "WITH a AS (SELECT COALESCE(union_chain($1), '{{}}') AS ids), \
              b AS (SELECT COALESCE(union_chain($5), '{{}}') AS ids), \
              r AS (SELECT c.id, true AS plus FROM a, b, unnest(a.ids) AS c(id) \
                    WHERE c.id <> ALL (b.ids) \
                    UNION ALL \
                    SELECT c.id, false FROM a, b, unnest(b.ids) AS c(id) \
                    WHERE c.id <> ALL (a.ids)) \
         INSERT INTO union_stats_daily (union_id, day, occupation, slot, {cols}) \
         SELECT r.id, $2, $3, (pg_backend_pid() % {SLOTS})::smallint, {values} \
         FROM r ORDER BY r.id \
         ON CONFLICT (union_id, day, occupation, slot) DO UPDATE SET {sets}"
    )
}

const ACTIVE_SQL: &str = "
WITH a AS (SELECT COALESCE(union_chain($1), '{}') AS ids),
     b AS (SELECT COALESCE(union_chain($3), '{}') AS ids),
     r AS (SELECT c.id, $4::int AS delta FROM a, b, unnest(a.ids) AS c(id) WHERE c.id <> ALL (b.ids)
           UNION ALL
           SELECT c.id, -($4::int) FROM a, b, unnest(b.ids) AS c(id) WHERE c.id <> ALL (a.ids))
INSERT INTO union_stats_active (union_id, occupation, slot, active)
SELECT r.id, $2, (pg_backend_pid() % 8)::smallint, r.delta FROM r ORDER BY r.id
ON CONFLICT (union_id, occupation, slot)
DO UPDATE SET active = union_stats_active.active + EXCLUDED.active";

const PENDING_SQL: &str = "
WITH r AS (
    SELECT c.id, COALESCE($2, 'infinity'::timestamptz) AS due, 1 AS delta
    FROM unnest(COALESCE(union_chain($1), '{}')) AS c(id)
    UNION ALL
    SELECT c.id, COALESCE($4, 'infinity'::timestamptz), -1
    FROM unnest(COALESCE(union_chain($3), '{}')) AS c(id)
), s AS (
    SELECT id, due, (sum(delta) * $5)::int AS delta FROM r GROUP BY id, due HAVING sum(delta) <> 0
)
INSERT INTO union_stats_pending (union_id, due_at, slot, pending)
SELECT id, due, (pg_backend_pid() % 8)::smallint, delta FROM s ORDER BY id, due
ON CONFLICT (union_id, due_at, slot)
DO UPDATE SET pending = union_stats_pending.pending + EXCLUDED.pending";

/// What one step of an application (a decision, a withdrawal) does to the counters, written by
/// [`apply_step`] in one statement.
#[derive(Debug)]
pub struct Step<'a> {
    /// The application's union after the step: the counters move along its path.
    pub union: i64,
    /// The application's occupation group.
    pub occupation: &'a str,
    /// The step's Beijing day.
    pub day: NaiveDate,
    /// The daily counters to add (may be empty).
    pub deltas: &'a Deltas,
    /// Active members to add along the path (1 for an approval).
    pub active: i32,
    /// For an approval: the application, whose referrer (if any) counts a referral at their
    /// union, on `day`, in `occupation`.
    pub referral_of: Option<uuid::Uuid>,
    /// Where the application waits after the step (the gauge of waiting ones).
    pub waiting_now: Waiting,
    /// Where it waited before the step.
    pub waiting_before: Waiting,
}

/// The statement of [`apply_step`]: the daily rows of the union's path (and of the referrer's
/// union's path: one `INSERT`, the two summed per union, since one statement may not update a
/// row twice), the active gauge along the path, and the waiting gauge moved from one (union,
/// deadline) to another — each table's rows in ascending key order, in the connection's slot.
fn step_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let cols = columns();
        let sums = (1..=Counter::ALL.len())
            .map(|n| format!("sum(v[{n}])::int"))
            .collect::<Vec<_>>()
            .join(", ");
        let sets = Counter::ALL
            .iter()
            .map(|c| format!("{0} = union_stats_daily.{0} + EXCLUDED.{0}", c.column()))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "WITH chain AS (SELECT c.id FROM unnest(COALESCE(union_chain($1), '{{}}')) AS c(id)), \
                  referrer AS (SELECT r.union_id FROM applications a \
                               JOIN members r ON r.id = a.referrer_member_id WHERE a.id = $6), \
                  flows AS (SELECT c.id, $4::int[] AS v FROM chain c \
                            WHERE EXISTS (SELECT 1 FROM unnest($4::int[]) AS d(x) WHERE d.x <> 0) \
                            UNION ALL \
                            SELECT c.id, $7::int[] FROM referrer, \
                                   unnest(COALESCE(union_chain(referrer.union_id), '{{}}')) AS c(id)), \
                  daily AS (INSERT INTO union_stats_daily (union_id, day, occupation, slot, {cols}) \
                            SELECT id, $2, $3, (pg_backend_pid() % {SLOTS})::smallint, {sums} \
                            FROM flows GROUP BY id ORDER BY id \
                            ON CONFLICT (union_id, day, occupation, slot) DO UPDATE SET {sets}), \
                  active AS (INSERT INTO union_stats_active (union_id, occupation, slot, active) \
                             SELECT c.id, $3, (pg_backend_pid() % {SLOTS})::smallint, $5::int \
                             FROM chain c WHERE $5::int <> 0 ORDER BY c.id \
                             ON CONFLICT (union_id, occupation, slot) \
                             DO UPDATE SET active = union_stats_active.active + EXCLUDED.active), \
                  waits AS (SELECT c.id, COALESCE($9, 'infinity'::timestamptz) AS due, 1 AS delta \
                            FROM unnest(COALESCE(union_chain($8), '{{}}')) AS c(id) \
                            UNION ALL \
                            SELECT c.id, COALESCE($11, 'infinity'::timestamptz), -1 \
                            FROM unnest(COALESCE(union_chain($10), '{{}}')) AS c(id)), \
                  waiting AS (SELECT id, due, sum(delta)::int AS delta FROM waits \
                              GROUP BY id, due HAVING sum(delta) <> 0) \
             INSERT INTO union_stats_pending (union_id, due_at, slot, pending) \
             SELECT id, due, (pg_backend_pid() % {SLOTS})::smallint, delta FROM waiting \
             ORDER BY id, due \
             ON CONFLICT (union_id, due_at, slot) \
             DO UPDATE SET pending = union_stats_pending.pending + EXCLUDED.pending"
        )
    })
}

struct StepStatement<'a> {
    step: &'a Step<'a>,
    referral: Vec<i32>,
    to_union: Option<i64>,
    to_due: Option<DateTime<Utc>>,
    from_union: Option<i64>,
    from_due: Option<DateTime<Utc>>,
}

struct StepStatementId;

impl crate::db::NumberedStatement for StepStatement<'_> {
    type Id = StepStatementId;
    const FIXED_TEXT: bool = true;

    fn sql(&self) -> &str {
        step_sql()
    }

    fn bind<'b>(
        &'b self,
        n: usize,
        out: &mut diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        let s = self.step;
        match n {
            1 => out.push_bind_param::<BigInt, _>(&s.union),
            2 => out.push_bind_param::<Date, _>(&s.day),
            3 => out.push_bind_param::<Text, _>(&s.occupation),
            4 => out.push_bind_param::<Array<Integer>, _>(s.deltas.values()),
            5 => out.push_bind_param::<Integer, _>(&s.active),
            6 => out.push_bind_param::<Nullable<diesel::sql_types::Uuid>, _>(&s.referral_of),
            7 => out.push_bind_param::<Array<Integer>, _>(&self.referral),
            8 => out.push_bind_param::<Nullable<BigInt>, _>(&self.to_union),
            9 => out.push_bind_param::<Nullable<Timestamptz>, _>(&self.to_due),
            10 => out.push_bind_param::<Nullable<BigInt>, _>(&self.from_union),
            11 => out.push_bind_param::<Nullable<Timestamptz>, _>(&self.from_due),
            _ => Err(diesel::result::Error::QueryBuilderError(
                format!("the counters' step statement has no parameter ${n}").into(),
            )),
        }
    }
}

/// One step of an application in the counters, in one statement prepared once per connection
/// (the daily flows at its union's path and the referrer's, the active gauge, the waiting
/// gauge): one round trip instead of four or five, and no planning after the first calls.
pub fn apply_step(conn: &mut PgConnection, step: &Step<'_>) -> Result<(), StoreError> {
    // The waiting gauge moves only when where the application waits changed.
    let (now, before) = if step.waiting_now == step.waiting_before {
        (None, None)
    } else {
        (step.waiting_now, step.waiting_before)
    };
    let statement = StepStatement {
        step,
        referral: Deltas::of(&[Counter::Referrals]).values().to_vec(),
        to_union: now.map(|w| w.0),
        to_due: now.and_then(|w| w.1),
        from_union: before.map(|w| w.0),
        from_due: before.and_then(|w| w.1),
    };
    crate::db::Numbered(statement).execute(conn)?;
    Ok(())
}

/// Where an application waits for a decision (pending review or pooled): its union and
/// deadline; `None` when it does not wait.
pub type Waiting = Option<(i64, Option<DateTime<Utc>>)>;

/// Moves `n` waiting applications from `from` (union and deadline) to `to` in the gauge of
/// waiting applications, along both unions' paths (what does not change nets out).
pub fn shift_pending(
    conn: &mut PgConnection,
    to: Waiting,
    from: Waiting,
    n: i32,
) -> Result<(), StoreError> {
    if to == from || n == 0 {
        return Ok(());
    }
    diesel::sql_query(PENDING_SQL)
        .bind::<Nullable<BigInt>, _>(to.map(|w| w.0))
        .bind::<Nullable<Timestamptz>, _>(to.and_then(|w| w.1))
        .bind::<Nullable<BigInt>, _>(from.map(|w| w.0))
        .bind::<Nullable<Timestamptz>, _>(from.and_then(|w| w.1))
        .bind::<Integer, _>(n)
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct DueGroup {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    due_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The waiting ones among `applications` (just moved from union `from` to `to` by a
/// reorganisation) move their place in the gauge of waiting applications.
pub fn shift_applications(
    conn: &mut PgConnection,
    applications: &[uuid::Uuid],
    from: i64,
    to: i64,
) -> Result<(), StoreError> {
    if applications.is_empty() {
        return Ok(());
    }
    let groups: Vec<DueGroup> = diesel::sql_query(
        "SELECT due_at, count(*) AS n FROM applications \
         WHERE id = ANY ($1) AND status IN ('pending_review', 'pooled') GROUP BY 1 ORDER BY 1",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(applications)
    .load(conn)?;
    for group in groups {
        let n = i32::try_from(group.n).unwrap_or(i32::MAX);
        shift_pending(
            conn,
            Some((to, group.due_at)),
            Some((from, group.due_at)),
            n,
        )?;
    }
    Ok(())
}

/// Adds `deltas` to the counters of `union` and its ancestors for `occupation` on `day`.
pub fn count(
    conn: &mut PgConnection,
    union: i64,
    occupation: &str,
    day: NaiveDate,
    deltas: &Deltas,
) -> Result<(), StoreError> {
    if deltas.is_empty() {
        return Ok(());
    }
    count_across(
        conn,
        union,
        deltas,
        None,
        &Deltas::default(),
        occupation,
        day,
    )
}

/// A move between two places of the tree on one day: `into` is added at the unions on the
/// path of `to` that are not on the path of `from`, `out` at those of `from` not on `to`'s
/// (their common ancestors see nothing cross their border). With `from = None`, `into` is
/// added along the whole path of `to`.
pub fn count_across(
    conn: &mut PgConnection,
    to: i64,
    into: &Deltas,
    from: Option<i64>,
    out: &Deltas,
    occupation: &str,
    day: NaiveDate,
) -> Result<(), StoreError> {
    diesel::sql_query(daily_sql())
        .bind::<BigInt, _>(to)
        .bind::<Date, _>(day)
        .bind::<Text, _>(occupation)
        .bind::<Array<Integer>, _>(into.values())
        .bind::<Nullable<BigInt>, _>(from)
        .bind::<Array<Integer>, _>(out.values())
        .execute(conn)?;
    Ok(())
}

/// Adds `delta` active members of `occupation` along the path of `to`, taking them off the
/// path of `from` (only where the two paths differ).
pub fn shift_active(
    conn: &mut PgConnection,
    to: i64,
    from: Option<i64>,
    occupation: &str,
    delta: i32,
) -> Result<(), StoreError> {
    if delta == 0 || from == Some(to) {
        return Ok(());
    }
    diesel::sql_query(ACTIVE_SQL)
        .bind::<BigInt, _>(to)
        .bind::<Text, _>(occupation)
        .bind::<Nullable<BigInt>, _>(from)
        .bind::<Integer, _>(delta)
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Group {
    #[diesel(sql_type = Text)]
    occupation: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The group of a member: the occupation of the application that made them a member.
pub fn member_group(conn: &mut PgConnection, member: uuid::Uuid) -> Result<String, StoreError> {
    use crate::db::schema::{applications, members};
    Ok(members::table
        .inner_join(applications::table.on(applications::id.eq(members::application_id)))
        .filter(members::id.eq(member))
        .select(applications::occupation)
        .first(conn)?)
}

/// The active members among `members` (just moved from union `from` to `to` by a
/// reorganisation) shift their gauge from `from`'s path to `to`'s.
pub fn shift_members(
    conn: &mut PgConnection,
    members: &[uuid::Uuid],
    from: i64,
    to: i64,
) -> Result<(), StoreError> {
    if members.is_empty() {
        return Ok(());
    }
    let groups: Vec<Group> = diesel::sql_query(
        "SELECT a.occupation, count(*) AS n FROM members m \
         JOIN applications a ON a.id = m.application_id \
         WHERE m.id = ANY ($1) AND m.status IN ('active', 'transferring') GROUP BY 1 ORDER BY 1",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(members)
    .load(conn)?;
    for group in groups {
        let n = i32::try_from(group.n).unwrap_or(i32::MAX);
        shift_active(conn, to, Some(from), &group.occupation, n)?;
    }
    Ok(())
}

/// A union moved from under the path `old` to under `new` (both paths include the union
/// itself): its rows — the figures of its whole subtree — are taken off the ancestors it left
/// and added to those it joined, in the move's transaction.
pub fn move_subtree(
    conn: &mut PgConnection,
    union: i64,
    old: &[i64],
    new: &[i64],
) -> Result<(), StoreError> {
    let cols = columns();
    let sums = Counter::ALL
        .iter()
        .map(|c| format!("sum({0})::int AS {0}", c.column()))
        .collect::<Vec<_>>()
        .join(", ");
    let signed = Counter::ALL
        .iter()
        .map(|c| format!("t.sign * s.{}", c.column()))
        .collect::<Vec<_>>()
        .join(", ");
    let sets = Counter::ALL
        .iter()
        .map(|c| format!("{0} = union_stats_daily.{0} + EXCLUDED.{0}", c.column()))
        .collect::<Vec<_>>()
        .join(", ");
    let targets = "t AS (SELECT c.id, 1 AS sign FROM unnest($3::bigint[]) AS c(id) \
                         WHERE c.id <> ALL ($2::bigint[]) \
                   UNION ALL SELECT c.id, -1 FROM unnest($2::bigint[]) AS c(id) \
                         WHERE c.id <> ALL ($3::bigint[]))";
    diesel::sql_query(format!(
        "WITH s AS (SELECT day, occupation, {sums} FROM union_stats_daily WHERE union_id = $1 \
                    GROUP BY day, occupation), {targets} \
         INSERT INTO union_stats_daily (union_id, day, occupation, slot, {cols}) \
         SELECT t.id, s.day, s.occupation, 0, {signed} FROM s, t ORDER BY t.id, s.day \
         ON CONFLICT (union_id, day, occupation, slot) DO UPDATE SET {sets}"
    ))
    .bind::<BigInt, _>(union)
    .bind::<Array<BigInt>, _>(old)
    .bind::<Array<BigInt>, _>(new)
    .execute(conn)?;
    diesel::sql_query(format!(
        "WITH s AS (SELECT occupation, sum(active)::int AS active FROM union_stats_active \
                    WHERE union_id = $1 GROUP BY occupation), {targets} \
         INSERT INTO union_stats_active (union_id, occupation, slot, active) \
         SELECT t.id, s.occupation, 0, t.sign * s.active FROM s, t ORDER BY t.id \
         ON CONFLICT (union_id, occupation, slot) \
         DO UPDATE SET active = union_stats_active.active + EXCLUDED.active"
    ))
    .bind::<BigInt, _>(union)
    .bind::<Array<BigInt>, _>(old)
    .bind::<Array<BigInt>, _>(new)
    .execute(conn)?;
    diesel::sql_query(format!(
        "WITH s AS (SELECT due_at, sum(pending)::int AS pending FROM union_stats_pending \
                    WHERE union_id = $1 GROUP BY due_at), {targets} \
         INSERT INTO union_stats_pending (union_id, due_at, slot, pending) \
         SELECT t.id, s.due_at, 0, t.sign * s.pending FROM s, t ORDER BY t.id, s.due_at \
         ON CONFLICT (union_id, due_at, slot) \
         DO UPDATE SET pending = union_stats_pending.pending + EXCLUDED.pending"
    ))
    .bind::<BigInt, _>(union)
    .bind::<Array<BigInt>, _>(old)
    .bind::<Array<BigInt>, _>(new)
    .execute(conn)?;
    Ok(())
}

/// One difference between the counters and the recount.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Difference {
    /// The union whose (subtree) figure differs.
    #[diesel(sql_type = BigInt)]
    pub union_id: i64,
    /// The day (`None` for the active-member gauge).
    #[diesel(sql_type = Nullable<Date>)]
    pub day: Option<NaiveDate>,
    /// The group (the deadline, for `pending`).
    #[diesel(sql_type = Text)]
    pub occupation: String,
    /// The counter (`active` and `pending` for the gauges).
    #[diesel(sql_type = Text)]
    pub counter: String,
    /// What the counters hold.
    #[diesel(sql_type = BigInt)]
    pub kept: i64,
    /// What the base tables say.
    #[diesel(sql_type = BigInt)]
    pub recounted: i64,
}

/// Every difference between the counters and a recount from the base tables, for the unions
/// of `union`'s subtree (all unions when `None`).
pub fn differences(
    conn: &mut PgConnection,
    union: Option<i64>,
) -> Result<Vec<Difference>, StoreError> {
    // One snapshot for the counters and the recount, without a per-statement limit.
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run(|conn| {
            diesel::sql_query("SET LOCAL statement_timeout = 0").execute(conn)?;
            differences_in(conn, union)
        })
}

fn differences_in(
    conn: &mut PgConnection,
    union: Option<i64>,
) -> Result<Vec<Difference>, StoreError> {
    let kept_sums = Counter::ALL
        .iter()
        .map(|c| format!("sum({0})::bigint AS {0}", c.column()))
        .collect::<Vec<_>>()
        .join(", ");
    let pairs = Counter::ALL
        .iter()
        .map(|c| {
            format!(
                "('{0}', COALESCE(k.{0}, 0), COALESCE(r.{0}, 0))",
                c.column()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let scope = "(($1::bigint IS NULL) OR x.union_id IN ( \
                   SELECT u.id FROM unions u, unions top WHERE top.id = $1 \
                   AND u.path LIKE top.path || '%'))";
    let daily = format!(
        "WITH k AS (SELECT union_id, day, occupation, {kept_sums} FROM union_stats_daily \
                    GROUP BY 1, 2, 3), \
              r AS (SELECT * FROM union_stats_recount()), \
              x AS (SELECT COALESCE(k.union_id, r.union_id) AS union_id, \
                           COALESCE(k.day, r.day) AS day, \
                           COALESCE(k.occupation, r.occupation) AS occupation, v.* \
                    FROM k FULL JOIN r ON k.union_id = r.union_id AND k.day = r.day \
                                       AND k.occupation = r.occupation \
                    CROSS JOIN LATERAL (VALUES {pairs}) AS v(counter, kept, recounted)) \
         SELECT union_id, day, occupation, counter, kept, recounted FROM x \
         WHERE kept <> recounted AND {scope} \
         ORDER BY union_id, day, occupation, counter"
    );
    let mut found: Vec<Difference> = diesel::sql_query(daily)
        .bind::<Nullable<BigInt>, _>(union)
        .load(conn)?;
    let active = format!(
        "WITH k AS (SELECT union_id, occupation, sum(active)::bigint AS active \
                    FROM union_stats_active GROUP BY 1, 2), \
              r AS (SELECT * FROM union_stats_active_recount()), \
              x AS (SELECT COALESCE(k.union_id, r.union_id) AS union_id, \
                           COALESCE(k.occupation, r.occupation) AS occupation, \
                           COALESCE(k.active, 0) AS kept, COALESCE(r.active, 0) AS recounted \
                    FROM k FULL JOIN r ON k.union_id = r.union_id \
                                       AND k.occupation = r.occupation) \
         SELECT union_id, NULL::date AS day, occupation, 'active' AS counter, kept, recounted \
         FROM x WHERE kept <> recounted AND {scope} ORDER BY union_id, occupation"
    );
    found.extend(
        diesel::sql_query(active)
            .bind::<Nullable<BigInt>, _>(union)
            .load::<Difference>(conn)?,
    );
    let pending = format!(
        "WITH k AS (SELECT union_id, due_at, sum(pending)::bigint AS pending \
                    FROM union_stats_pending GROUP BY 1, 2), \
              r AS (SELECT * FROM union_stats_pending_recount()), \
              x AS (SELECT COALESCE(k.union_id, r.union_id) AS union_id, \
                           COALESCE(k.due_at, r.due_at) AS due_at, \
                           COALESCE(k.pending, 0) AS kept, COALESCE(r.pending, 0) AS recounted \
                    FROM k FULL JOIN r ON k.union_id = r.union_id AND k.due_at = r.due_at) \
         SELECT union_id, NULL::date AS day, due_at::text AS occupation, 'pending' AS counter, \
                kept, recounted \
         FROM x WHERE kept <> recounted AND {scope} ORDER BY union_id, due_at"
    );
    found.extend(
        diesel::sql_query(pending)
            .bind::<Nullable<BigInt>, _>(union)
            .load::<Difference>(conn)?,
    );
    Ok(found)
}

/// Replaces every counter with the recount from the base tables (the writers wait meanwhile:
/// the tables are locked), written in key order so a union's days sit together. Returns the
/// rows written.
pub fn rebuild(conn: &mut PgConnection) -> Result<(usize, usize), StoreError> {
    conn.transaction(|conn| {
        // A recount reads every base table: no per-statement limit for it.
        diesel::sql_query("SET LOCAL statement_timeout = 0").execute(conn)?;
        diesel::sql_query(
            "LOCK TABLE union_stats_daily, union_stats_active, union_stats_pending \
             IN SHARE ROW EXCLUSIVE MODE",
        )
        .execute(conn)?;
        diesel::sql_query("DELETE FROM union_stats_daily").execute(conn)?;
        diesel::sql_query("DELETE FROM union_stats_active").execute(conn)?;
        diesel::sql_query("DELETE FROM union_stats_pending").execute(conn)?;
        diesel::sql_query(
            "INSERT INTO union_stats_pending (union_id, due_at, slot, pending) \
             SELECT union_id, due_at, 0, pending FROM union_stats_pending_recount()",
        )
        .execute(conn)?;
        let cols = columns();
        let coalesced = Counter::ALL
            .iter()
            .map(|c| format!("COALESCE({}, 0)", c.column()))
            .collect::<Vec<_>>()
            .join(", ");
        let daily = diesel::sql_query(format!(
            "INSERT INTO union_stats_daily (union_id, day, occupation, slot, {cols}) \
             SELECT union_id, day, occupation, 0, {coalesced} FROM union_stats_recount() \
             ORDER BY union_id, day, occupation"
        ))
        .execute(conn)?;
        let active = diesel::sql_query(
            "INSERT INTO union_stats_active (union_id, occupation, slot, active) \
             SELECT union_id, occupation, 0, active FROM union_stats_active_recount()",
        )
        .execute(conn)?;
        Ok((daily, active))
    })
}
