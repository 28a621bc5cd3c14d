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
use crate::db::schema::unions;

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

    /// The routing view of this union.
    pub fn candidate(&self) -> Result<UnionCandidate, StoreError> {
        let bad = |what: &str| StoreError::broken(format!("union {} has a bad {what}", self.id));
        Ok(UnionCandidate {
            id: self.union_id(),
            name: self.name.clone(),
            kind: self.kind,
            region: RegionCode::parse(&self.region_code).map_err(|_| bad("region"))?,
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
            accepting: self.accepting,
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
}

/// Creates a union under its parent and sets its path; returns the stored row.
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
            ))
            .returning(UnionRow::as_returning())
            .get_result(conn)?)
    })
}

/// The union with this id.
pub fn find(conn: &mut PgConnection, id: UnionId) -> Result<Option<UnionRow>, StoreError> {
    Ok(unions::table
        .find(id.get())
        .select(UnionRow::as_select())
        .first(conn)
        .optional()?)
}

/// The rows of every union routing could choose for work in `region` (unions of the region and
/// of each region above it), plus the enterprise union of `employer`. One statement, prepared
/// once per connection.
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
    // `credit_code = NULL` matches nothing, so no employer needs no second query shape.
    Ok(unions::table
        .filter(
            unions::region_code
                .eq_any(regions)
                .or(unions::credit_code.eq(employer.map(CreditCode::as_str))),
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
    let candidates = rows
        .iter()
        .map(UnionRow::candidate)
        .collect::<Result<Vec<_>, _>>()?;
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
