//! The union tree: creating unions (with their materialised path), the candidates routing
//! chooses from, and subtree look-ups.

use chrono::NaiveTime;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::credit_code::CreditCode;
use zhijian_domain::deadline::ReviewHours;
use zhijian_domain::ids::UnionId;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::region::RegionCode;
use zhijian_domain::routing::{
    RoutingDecision, RoutingError, RoutingFacts, UnionCandidate, UnionKind,
};

use crate::db::StoreError;
use crate::db::schema::{union_coverage, unions};

/// A union as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = unions)]
pub struct UnionRow {
    /// Key.
    pub id: i64,
    /// Official name.
    pub name: String,
    /// Federation, enterprise union, industry federation, joint union or pool.
    #[diesel(deserialize_as = crate::db::types::Stored<zhijian_domain::routing::UnionKind>)]
    pub kind: zhijian_domain::routing::UnionKind,
    /// The union above.
    pub parent_id: Option<i64>,
    /// The region it serves.
    pub region_code: String,
    /// Materialised path `/1/5/12/`.
    pub path: String,
    /// Employer's credit code (enterprise unions).
    pub credit_code: Option<String>,
    /// Occupation groups served (industry federations).
    pub occupations: Vec<String>,
    /// Whether routing may send applications here.
    pub accepting: bool,
    /// Tie-break: higher wins.
    pub priority: i32,
    /// Review hours: opening.
    pub review_opens: NaiveTime,
    /// Review hours: closing (deadline time).
    pub review_closes: NaiveTime,
    /// Review cut-off: later submissions are due the next working day.
    pub review_cutoff: NaiveTime,
    /// Bumped by every edit; edits are conditional on it.
    pub version: i32,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// When it was closed; a closed union never receives applications.
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The union that took over a closed one.
    pub successor_id: Option<i64>,
}

impl UnionRow {
    /// The domain id.
    pub fn union_id(&self) -> UnionId {
        UnionId::new(self.id)
    }

    /// The parsed path; a malformed stored path is an internal error.
    pub fn union_path(&self) -> Result<UnionPath, StoreError> {
        UnionPath::parse(&self.path)
            .map_err(|_| StoreError::broken(format!("union {} has a bad path", self.id)))
    }

    /// The union's review hours (the table's CHECK keeps them valid).
    pub fn review_hours(&self) -> Result<ReviewHours, StoreError> {
        ReviewHours::new(self.review_opens, self.review_closes, self.review_cutoff)
            .map_err(|e| StoreError::broken(format!("union {} has bad review hours: {e}", self.id)))
    }

    /// The routing view of this union, without its coverage list (see [`route`]). A closed
    /// union counts as not accepting.
    pub fn candidate(&self) -> Result<UnionCandidate, StoreError> {
        let bad = |what: &str| StoreError::broken(format!("union {} has a bad {what}", self.id));
        Ok(UnionCandidate {
            id: self.union_id(),
            name: self.name.clone(),
            kind: self.kind,
            region: RegionCode::parse(&self.region_code).map_err(|_| bad("region"))?,
            coverage: Vec::new(),
            credit_code: self
                .credit_code
                .as_deref()
                .map(CreditCode::parse)
                .transpose()
                .map_err(|_| bad("credit code"))?,
            occupations: self
                .occupations
                .iter()
                .map(|o| OccupationGroup::parse(o))
                .collect::<Result<_, _>>()
                .map_err(|_| bad("occupation"))?,
            accepting: self.accepting && self.closed_at.is_none(),
            priority: self.priority,
        })
    }
}

/// A union to create.
#[derive(Debug, Clone)]
pub struct NewUnion {
    /// Official name.
    pub name: String,
    /// Kind.
    pub kind: UnionKind,
    /// The union above; `None` for a root.
    pub parent: Option<UnionId>,
    /// The region it serves.
    pub region: RegionCode,
    /// Employer's credit code (required for enterprise unions, absent otherwise).
    pub credit_code: Option<CreditCode>,
    /// Occupation groups served (industry federations).
    pub occupations: Vec<OccupationGroup>,
    /// Tie-break priority.
    pub priority: i32,
    /// Review hours.
    pub review_hours: ReviewHours,
    /// The regions a joint union covers instead of its own (empty: its own region).
    pub coverage: Vec<RegionCode>,
}

/// Creates a union under its parent and sets its path, with its coverage; returns the stored
/// row. Only the use case `usecases::unions::create` calls it (the API and the demo alike).
pub fn create_union(conn: &mut PgConnection, new: &NewUnion) -> Result<UnionRow, StoreError> {
    conn.transaction(|conn| {
        let parent_path = match new.parent {
            Some(parent) => Some(
                unions::table
                    .find(parent.get())
                    .select(unions::path)
                    .first::<String>(conn)
                    .optional()?
                    .ok_or(StoreError::NotFound)?,
            ),
            None => None,
        };
        let occupations: Vec<&str> = new.occupations.iter().map(|o| o.as_str()).collect();
        // The id is drawn first so that the row is inserted with its final path: a union's
        // place in the tree never changes once it exists (migration `queue_anchor`).
        let id: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "nextval('unions_id_seq')",
        ))
        .get_result(conn)?;
        let id = UnionId::new(id);
        let path = match parent_path {
            Some(parent) => UnionPath::parse(&parent).and_then(|parent| parent.child(id)),
            None => Ok(UnionPath::root(id)),
        }
        .map_err(|e| StoreError::broken(format!("the path of a new union: {}", e.code())))?;
        Ok(diesel::insert_into(unions::table)
            .values((
                unions::id.eq(id.get()),
                unions::name.eq(&new.name),
                unions::kind.eq(new.kind.as_str()),
                unions::parent_id.eq(new.parent.map(UnionId::get)),
                unions::region_code.eq(new.region.as_str()),
                unions::path.eq(path.to_string()),
                unions::credit_code.eq(new.credit_code.as_ref().map(CreditCode::as_str)),
                unions::occupations.eq(occupations),
                unions::priority.eq(new.priority),
                unions::review_opens.eq(new.review_hours.opens()),
                unions::review_closes.eq(new.review_hours.closes()),
                unions::review_cutoff.eq(new.review_hours.cutoff()),
            ))
            .returning(UnionRow::as_returning())
            .get_result(conn)
            .and_then(|row: UnionRow| {
                replace_coverage(conn, row.union_id(), &new.coverage)?;
                Ok(row)
            })?)
    })
}

/// Inside an open transaction: the union's coverage becomes `regions` (empty: its own region).
pub fn replace_coverage(
    conn: &mut PgConnection,
    id: UnionId,
    regions: &[RegionCode],
) -> Result<(), diesel::result::Error> {
    diesel::delete(union_coverage::table.filter(union_coverage::union_id.eq(id.get())))
        .execute(conn)?;
    let rows: Vec<_> = regions
        .iter()
        .map(|r| {
            (
                union_coverage::union_id.eq(id.get()),
                union_coverage::region_code.eq(r.as_str()),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(union_coverage::table)
            .values(rows)
            .execute(conn)?;
    }
    Ok(())
}

/// The coverage lists of `ids` (unions without one are absent), codes in order.
pub fn coverage_of(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<String>>, StoreError> {
    let rows: Vec<(i64, String)> = union_coverage::table
        .filter(union_coverage::union_id.eq_any(ids))
        .order((union_coverage::union_id, union_coverage::region_code))
        .select((union_coverage::union_id, union_coverage::region_code))
        .load(conn)?;
    let mut by_union = std::collections::HashMap::<i64, Vec<String>>::new();
    for (id, code) in rows {
        by_union.entry(id).or_default().push(code);
    }
    Ok(by_union)
}

/// The union with this id.
pub fn find(conn: &mut PgConnection, id: UnionId) -> Result<Option<UnionRow>, StoreError> {
    Ok(unions::table
        .find(id.get())
        .select(UnionRow::as_select())
        .first(conn)
        .optional()?)
}

/// The rows of every open union routing could choose for work in `region` (unions of the
/// region and of each region above it, or covering one of them), plus the enterprise union of
/// `employer`. One statement, prepared once per connection; closed unions are left out.
///
/// Read from PostgreSQL on every routing, never cached: a union created, edited, paused or
/// closed is seen by the next submission on every server instance.
fn routing_candidate_rows(
    conn: &mut PgConnection,
    region: &RegionCode,
    employer: Option<&CreditCode>,
) -> Result<Vec<UnionRow>, StoreError> {
    let regions: Vec<String> = region
        .ancestors()
        .iter()
        .map(|r| r.as_str().to_owned())
        .collect();
    // The unions whose coverage lists name one of the regions, first and on their own: as a
    // subquery inside the OR below it would be a hashed filter over every union (a scan of the
    // whole table on each submission); as a list, each branch of the OR is an index lookup.
    let covering: Vec<i64> = union_coverage::table
        .filter(union_coverage::region_code.eq_any(regions.clone()))
        .select(union_coverage::union_id)
        .load(conn)?;
    // `credit_code = NULL` matches nothing, so no employer needs no second query shape.
    Ok(unions::table
        .filter(unions::closed_at.is_null())
        .filter(
            unions::region_code
                .eq_any(regions)
                .or(unions::credit_code.eq(employer.map(CreditCode::as_str)))
                .or(unions::id.eq_any(covering)),
        )
        .select(UnionRow::as_select())
        .load(conn)?)
}

/// Routes `facts` over the stored union tree: the decision and the chosen union's row (from
/// the same read), or why no union could be chosen.
pub fn route(
    conn: &mut PgConnection,
    facts: &RoutingFacts,
) -> Result<Result<(RoutingDecision, UnionRow), RoutingError>, StoreError> {
    let rows = routing_candidate_rows(
        conn,
        &facts.work_region,
        facts.employer_credit_code.as_ref(),
    )?;
    // Only joint unions have coverage lists.
    let joint: Vec<i64> = rows
        .iter()
        .filter(|r| r.kind == UnionKind::Joint)
        .map(|r| r.id)
        .collect();
    let mut coverage = if joint.is_empty() {
        std::collections::HashMap::new()
    } else {
        coverage_of(conn, &joint)?
    };
    let candidates = rows
        .iter()
        .map(|row| {
            let mut candidate = row.candidate()?;
            candidate.coverage = coverage
                .remove(&row.id)
                .unwrap_or_default()
                .iter()
                .map(|code| RegionCode::parse(code))
                .collect::<Result<_, _>>()
                .map_err(|_| StoreError::broken(format!("union {} covers a bad region", row.id)))?;
            Ok(candidate)
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let decision = match zhijian_domain::routing::route(facts, &candidates) {
        Ok(decision) => decision,
        Err(e) => return Ok(Err(e)),
    };
    let union = rows
        .into_iter()
        .find(|row| row.id == decision.union.get())
        .ok_or_else(|| StoreError::broken(format!("routed to unknown union {}", decision.union)))?;
    Ok(Ok((decision, union)))
}
