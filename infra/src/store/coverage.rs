//! Reads of the coverage counters ([`crate::store::counters`]) for the overview and the
//! quarterly report, and the quarterly snapshots. A subtree's figures are the rows of its top
//! union: a range of days, summed over groups and slots — never a scan of applications or
//! members. Overdue applications are read from the gauge of waiting applications per deadline
//! (`union_stats_pending`): one row per deadline, not one per application.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer, Nullable, SmallInt, Text, Timestamptz};
use zhijian_domain::stats::Counter;

use crate::db::StoreError;

/// The sums of every daily counter, in [`Counter::ALL`] order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flows(pub Vec<i64>);

impl Flows {
    /// One counter's sum.
    pub fn get(&self, counter: Counter) -> i64 {
        self.0.get(counter as usize).copied().unwrap_or(0)
    }

    fn add(&mut self, other: &Flows) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a += b;
        }
    }
}

/// One row of sums keyed by a union, a day and a group (whichever the query grouped by).
#[derive(Debug, Clone)]
pub struct FlowRow {
    /// The union (when grouped by union).
    pub union_id: Option<i64>,
    /// The day (when grouped by day).
    pub day: Option<NaiveDate>,
    /// The group (when grouped by group).
    pub occupation: Option<String>,
    /// The sums.
    pub flows: Flows,
}

/// What [`flow_rows`] groups its sums by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Union,
    Day,
    Group,
}

/// Rows of sums over `unions`' counters in `from..=to` (one group or all), grouped by `by`.
fn flow_rows(
    conn: &mut PgConnection,
    unions: &[i64],
    (from, to): (NaiveDate, NaiveDate),
    group: Option<&str>,
    by: By,
) -> Result<Vec<FlowRow>, StoreError> {
    let (by_union, by_day, by_group) = (by == By::Union, by == By::Day, by == By::Group);
    use diesel::deserialize::QueryableByName;
    let sums = Counter::ALL
        .iter()
        .map(|c| format!("COALESCE(sum(s.{0}), 0)::bigint AS {0}", c.column()))
        .collect::<Vec<_>>()
        .join(", ");
    let key = |on: bool, expr: &str, name: &str, ty: &str| {
        if on {
            format!("{expr} AS {name}")
        } else {
            format!("NULL::{ty} AS {name}")
        }
    };
    let mut group_by = Vec::new();
    if by_union {
        group_by.push("s.union_id");
    }
    if by_day {
        group_by.push("s.day");
    }
    if by_group {
        group_by.push("s.occupation");
    }
    let group_clause = if group_by.is_empty() {
        String::new()
    } else {
        format!("GROUP BY {}", group_by.join(", "))
    };
    let sql = format!(
        "SELECT {}, {}, {}, {sums} FROM union_stats_daily s \
         WHERE s.union_id = ANY ($1) AND s.day BETWEEN $2 AND $3 \
           AND ($4::text IS NULL OR s.occupation = $4) {group_clause}",
        key(by_union, "s.union_id", "union_id", "bigint"),
        key(by_day, "s.day", "day", "date"),
        key(by_group, "s.occupation", "occupation", "text"),
    );
    #[derive(QueryableByName)]
    struct Keyed {
        #[diesel(sql_type = Nullable<BigInt>)]
        union_id: Option<i64>,
        #[diesel(sql_type = Nullable<Date>)]
        day: Option<NaiveDate>,
        #[diesel(sql_type = Nullable<Text>)]
        occupation: Option<String>,
    }
    // The sums are read by name, one column per counter.
    struct Row(Keyed, Flows);
    impl QueryableByName<diesel::pg::Pg> for Row {
        fn build<'a>(
            row: &impl diesel::row::NamedRow<'a, diesel::pg::Pg>,
        ) -> diesel::deserialize::Result<Self> {
            let keyed = Keyed::build(row)?;
            let mut flows = Vec::with_capacity(Counter::ALL.len());
            for counter in Counter::ALL {
                flows.push(diesel::row::NamedRow::get::<BigInt, i64>(
                    row,
                    counter.column(),
                )?);
            }
            Ok(Row(keyed, Flows(flows)))
        }
    }
    let rows: Vec<Row> = diesel::sql_query(sql)
        .bind::<diesel::sql_types::Array<BigInt>, _>(unions)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .bind::<Nullable<Text>, _>(group)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|Row(k, flows)| FlowRow {
            union_id: k.union_id,
            day: k.day,
            occupation: k.occupation,
            flows,
        })
        .collect())
}

/// A union as the overview names it.
#[derive(Debug, Clone, QueryableByName)]
pub struct UnionName {
    /// Id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Path.
    #[diesel(sql_type = Text)]
    pub path: String,
}

/// The union `id` and its children (open or closed), the union first.
pub fn union_and_children(conn: &mut PgConnection, id: i64) -> Result<Vec<UnionName>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT id, name, path FROM unions WHERE id = $1 OR parent_id = $1 \
         ORDER BY (id = $1) DESC, id",
    )
    .bind::<BigInt, _>(id)
    .load(conn)?)
}

/// Everything the overview shows of one subtree.
#[derive(Debug, Clone, Default)]
pub struct SubtreeFigures {
    /// Flow sums over the period.
    pub flows: Flows,
    /// Active members now.
    pub active: i64,
    /// Workforce estimate (底数) of the year, summed over the subtree.
    pub estimate: Option<i64>,
    /// Target (目标) of the year, summed over the subtree.
    pub target: Option<i64>,
}

#[derive(QueryableByName)]
struct Active {
    #[diesel(sql_type = BigInt)]
    union_id: i64,
    #[diesel(sql_type = BigInt)]
    active: i64,
}

#[derive(QueryableByName)]
struct Estimate {
    #[diesel(sql_type = BigInt)]
    union_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    estimate: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    target: Option<i64>,
}

/// The overview's figures: per union of `unions` (a union and its children), the flows of
/// `from..=to`, active members now and the estimates of `year`; then the union's daily
/// series and its flows by group.
pub struct Overview {
    /// Per union, in the order asked.
    pub per_union: Vec<(UnionName, SubtreeFigures)>,
    /// Daily sums of the first union.
    pub days: Vec<(NaiveDate, Flows)>,
    /// Sums per group of the first union, with its active members per group.
    pub groups: Vec<(String, Flows, i64)>,
    /// Open applications of the first union's subtree past their deadline now.
    pub overdue: i64,
}

/// Reads the overview of `unions[0]`'s subtree with a row per other union (its children).
pub fn overview(
    conn: &mut PgConnection,
    unions: Vec<UnionName>,
    from: NaiveDate,
    to: NaiveDate,
    group: Option<&str>,
    year: i32,
    now: DateTime<Utc>,
) -> Result<Overview, StoreError> {
    let ids: Vec<i64> = unions.iter().map(|u| u.id).collect();
    let Some(top) = unions.first().cloned() else {
        return Ok(Overview {
            per_union: Vec::new(),
            days: Vec::new(),
            groups: Vec::new(),
            overdue: 0,
        });
    };
    let by_union = flow_rows(conn, &ids, (from, to), group, By::Union)?;
    let actives: Vec<Active> = diesel::sql_query(
        "SELECT union_id, COALESCE(sum(active), 0)::bigint AS active FROM union_stats_active \
         WHERE union_id = ANY ($1) AND ($2::text IS NULL OR occupation = $2) GROUP BY union_id",
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(&ids)
    .bind::<Nullable<Text>, _>(group)
    .load(conn)?;
    // Each estimate of the subtree counts for each of its unions' ancestors among those asked.
    let estimates: Vec<Estimate> = diesel::sql_query(
        "SELECT c.id AS union_id, sum(w.estimate)::bigint AS estimate, \
                sum(w.target)::bigint AS target \
         FROM workforce_estimates w JOIN unions u ON u.id = w.union_id \
         CROSS JOIN LATERAL unnest(string_to_array(btrim(u.path, '/'), '/')::bigint[]) AS c(id) \
         WHERE w.year = $3 AND ($4::text IS NULL OR w.occupation = $4) AND u.path LIKE $2 \
           AND c.id = ANY ($1) \
         GROUP BY c.id",
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(&ids)
    .bind::<Text, _>(format!("{}%", top.path))
    .bind::<Integer, _>(year)
    .bind::<Nullable<Text>, _>(group)
    .load(conn)?;
    let per_union = unions
        .into_iter()
        .map(|u| {
            let mut figures = SubtreeFigures::default();
            for row in by_union.iter().filter(|r| r.union_id == Some(u.id)) {
                figures.flows.add(&row.flows);
            }
            if figures.flows.0.is_empty() {
                figures.flows = Flows(vec![0; Counter::ALL.len()]);
            }
            figures.active = actives
                .iter()
                .find(|a| a.union_id == u.id)
                .map_or(0, |a| a.active);
            if let Some(e) = estimates.iter().find(|e| e.union_id == u.id) {
                figures.estimate = e.estimate;
                figures.target = e.target;
            }
            (u, figures)
        })
        .collect();
    let mut days: Vec<(NaiveDate, Flows)> = flow_rows(conn, &[top.id], (from, to), group, By::Day)?
        .into_iter()
        .filter_map(|r| r.day.map(|d| (d, r.flows)))
        .collect();
    days.sort_by_key(|(d, _)| *d);
    let group_actives: Vec<(String, i64)> = diesel::sql_query(
        "SELECT occupation AS name, COALESCE(sum(active), 0)::bigint AS n \
         FROM union_stats_active WHERE union_id = $1 GROUP BY occupation",
    )
    .bind::<BigInt, _>(top.id)
    .load::<NamedCount>(conn)?
    .into_iter()
    .map(|r| (r.name, r.n))
    .collect();
    let mut groups: Vec<(String, Flows, i64)> =
        flow_rows(conn, &[top.id], (from, to), group, By::Group)?
            .into_iter()
            .filter_map(|r| r.occupation.map(|o| (o, r.flows)))
            .map(|(o, flows)| {
                let active = group_actives
                    .iter()
                    .find(|(g, _)| *g == o)
                    .map_or(0, |(_, n)| *n);
                (o, flows, active)
            })
            .collect();
    for (name, n) in &group_actives {
        let wanted = group.is_none_or(|g| g == name);
        if wanted && !groups.iter().any(|(g, _, _)| g == name) {
            groups.push((name.clone(), Flows(vec![0; Counter::ALL.len()]), *n));
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    // Overdue: the gauge of waiting applications per deadline, summed before now — one row
    // per deadline (a working day each), whatever the subtree holds. A group filter does not
    // apply (the gauge is not kept per group).
    let overdue: i64 = diesel::sql_query(
        "SELECT COALESCE(sum(pending), 0)::bigint AS n, '' AS name FROM union_stats_pending \
         WHERE union_id = $1 AND due_at < $2",
    )
    .bind::<BigInt, _>(top.id)
    .bind::<Timestamptz, _>(now)
    .get_result::<NamedCount>(conn)?
    .n;
    Ok(Overview {
        per_union,
        days,
        groups,
        overdue,
    })
}

#[derive(QueryableByName)]
struct NamedCount {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// New members by group of one union's subtree in a quarter.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct JoinedRow {
    /// The union.
    #[diesel(sql_type = BigInt)]
    pub union_id: i64,
    /// Its name (then, for a snapshot).
    #[diesel(sql_type = Text)]
    pub union_name: String,
    /// The group.
    #[diesel(sql_type = Text)]
    pub occupation: String,
    /// New members.
    #[diesel(sql_type = BigInt)]
    pub joined: i64,
}

/// From the counters: new members by group of `union` and of each child, `from..=to`.
pub fn joined_live(
    conn: &mut PgConnection,
    union: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<JoinedRow>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT u.id AS union_id, u.name AS union_name, s.occupation, \
                sum(s.joined)::bigint AS joined \
         FROM unions u JOIN union_stats_daily s ON s.union_id = u.id \
         WHERE (u.id = $1 OR u.parent_id = $1) AND s.day BETWEEN $2 AND $3 \
         GROUP BY u.id, u.name, s.occupation HAVING sum(s.joined) <> 0 \
         ORDER BY u.id, s.occupation",
    )
    .bind::<BigInt, _>(union)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)?)
}

/// Whether the snapshot of a quarter was taken.
pub fn snapshot_taken(
    conn: &mut PgConnection,
    year: i32,
    quarter: i16,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    use crate::db::schema::quarterly_snapshots as q;
    Ok(q::table
        .filter(q::year.eq(year))
        .filter(q::quarter.eq(quarter))
        .select(q::taken_at)
        .first(conn)
        .optional()?)
}

/// From the snapshot: new members by group of `union` and of each of its children then.
pub fn joined_snapshot(
    conn: &mut PgConnection,
    union: i64,
    year: i32,
    quarter: i16,
) -> Result<Vec<JoinedRow>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT union_id, union_name, occupation, joined FROM quarterly_snapshot_rows \
         WHERE year = $2 AND quarter = $3 AND (union_id = $1 OR parent_id = $1) \
         ORDER BY union_id, occupation",
    )
    .bind::<BigInt, _>(union)
    .bind::<Integer, _>(year)
    .bind::<SmallInt, _>(quarter)
    .load(conn)?)
}

/// Takes the snapshot of a quarter (`from..=to`) once: every union's new members by group
/// from the counters, with its parent and name now. `false` when it was already taken.
pub fn take_snapshot(
    conn: &mut PgConnection,
    year: i32,
    quarter: i16,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    conn.transaction(|conn| {
        let inserted = diesel::sql_query(
            "INSERT INTO quarterly_snapshots (year, quarter, taken_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind::<Integer, _>(year)
        .bind::<SmallInt, _>(quarter)
        .bind::<Timestamptz, _>(now)
        .execute(conn)?;
        if inserted == 0 {
            return Ok(false);
        }
        diesel::sql_query(
            "INSERT INTO quarterly_snapshot_rows \
                 (year, quarter, union_id, parent_id, union_name, occupation, joined) \
             SELECT $1, $2, u.id, u.parent_id, u.name, s.occupation, sum(s.joined)::bigint \
             FROM union_stats_daily s JOIN unions u ON u.id = s.union_id \
             WHERE s.day BETWEEN $3 AND $4 \
             GROUP BY u.id, u.parent_id, u.name, s.occupation HAVING sum(s.joined) > 0",
        )
        .bind::<Integer, _>(year)
        .bind::<SmallInt, _>(quarter)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .execute(conn)?;
        Ok(true)
    })
}
