//! The move benchmark (`zhijian-dev bench-move --applications N`, run by `make bench`): a joint
//! union of the demo county 巫山县 holding N applications, N/10 members and an audit row per
//! application is moved under another county federation by the server's own move procedure
//! (`zhijian_infra::usecases::unions::moving`: one short transaction for the union rows, then
//! the dependent rows re-anchored in batches, each its own transaction). It reports the time of
//! the move, the number of batches and the longest transaction, as `BENCH_JSON {…}`.
//!
//! The rows are clones of one application and one member already in the database (the demo's,
//! or the generator's), made unique where the schema asks (ids, person index, membership
//! number); every run builds a fresh union, so it can be repeated on the same database.

use std::time::Instant;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use zhijian_domain::admin::UnionPath;
use zhijian_domain::ids::UnionId;
use zhijian_domain::region::RegionCode;
use zhijian_domain::routing::UnionKind;
use zhijian_infra::store::applications::AdminActor;
use zhijian_infra::store::unions::{NewUnion, create_union};
use zhijian_infra::usecases::unions::moving::{self, MoveUnion};

/// What one move measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveFigures {
    /// Applications in the moved subtree.
    pub applications: i64,
    /// Members in it.
    pub members: i64,
    /// Rows re-anchored (applications, members, audit reach).
    pub rows_moved: i64,
    /// Rows per batch.
    pub batch_size: i32,
    /// Batches run.
    pub batches: i32,
    /// The first transaction (union rows: paths, anchors, the move's record), in ms.
    pub switch_ms: u128,
    /// The longest batch transaction (re-anchoring rows), in ms.
    pub longest_batch_ms: u128,
    /// The transactions listing the rows to re-anchor (reading them only), in ms: the first
    /// listing and the final one.
    pub collect_ms: Vec<u128>,
    /// The longest transaction of the move, whatever it did, in ms.
    pub longest_transaction_ms: i32,
    /// The whole move, in ms.
    pub total_ms: u128,
    /// Loading the rows (not part of the move), in ms.
    pub load_ms: u128,
}

impl MoveFigures {
    /// The figures as one JSON object.
    pub fn json(&self) -> String {
        format!(
            "{{\"applications\": {}, \"members\": {}, \"rows_moved\": {}, \"batch_size\": {}, \
             \"batches\": {}, \"switch_ms\": {}, \"longest_batch_ms\": {}, \"collect_ms\": {:?}, \
             \"longest_transaction_ms\": {}, \"total_ms\": {}, \"load_ms\": {}}}",
            self.applications,
            self.members,
            self.rows_moved,
            self.batch_size,
            self.batches,
            self.switch_ms,
            self.longest_batch_ms,
            self.collect_ms,
            self.longest_transaction_ms,
            self.total_ms,
            self.load_ms
        )
    }
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct Path {
    #[diesel(sql_type = Text)]
    path: String,
}

fn one_id(conn: &mut PgConnection, sql: &str) -> Result<Option<i64>, String> {
    Ok(diesel::sql_query(sql)
        .load::<Id>(conn)
        .map_err(|e| e.to_string())?
        .first()
        .map(|r| r.id))
}

fn execute(conn: &mut PgConnection, sql: &str) -> Result<usize, String> {
    diesel::sql_query(sql)
        .execute(conn)
        .map_err(|e| format!("{e}: {sql}"))
}

/// Builds the subtree and moves it (see the module documentation).
pub fn bench_move(
    conn: &mut PgConnection,
    applications: i64,
    batch_size: i32,
) -> Result<MoveFigures, String> {
    let county = one_id(
        conn,
        "SELECT id FROM unions WHERE kind = 'federation' AND region_code = '500237' ORDER BY id LIMIT 1",
    )?
    .ok_or("no 巫山县 federation: run `zhijian-dev seed-demo` first")?;
    let root = one_id(
        conn,
        &format!("SELECT split_part(path, '/', 2)::bigint AS id FROM unions WHERE id = {county}"),
    )?
    .ok_or("no root union")?;
    let target = match one_id(
        conn,
        &format!(
            "SELECT id FROM unions WHERE kind = 'federation' AND length(region_code) = 6 \
             AND region_code <> '500237' AND closed_at IS NULL AND path LIKE '/{root}/%' \
             ORDER BY id LIMIT 1"
        ),
    )? {
        Some(id) => id,
        None => {
            let code = diesel::sql_query(
                "SELECT code AS path FROM regions WHERE level = 3 AND code <> '500237' \
                 AND code LIKE '50%' ORDER BY code LIMIT 1",
            )
            .load::<Path>(conn)
            .map_err(|e| e.to_string())?
            .pop()
            .ok_or("no other county in the regions table")?
            .path;
            create_union(
                conn,
                &NewUnion {
                    name: "迁移基准目标县总工会".into(),
                    kind: UnionKind::Federation,
                    parent: Some(UnionId::new(root)),
                    region: RegionCode::parse(&code).map_err(|e| e.to_string())?,
                    credit_code: None,
                    occupations: vec![],
                    priority: 0,
                    review_hours: zhijian_domain::deadline::ReviewHours::DEFAULT,
                    coverage: vec![],
                },
            )
            .map_err(|e| e.to_string())?
            .id
        }
    };
    let template = one_id(conn, "SELECT 1::bigint AS id FROM applications LIMIT 1")?;
    let member_template = one_id(conn, "SELECT 1::bigint AS id FROM members LIMIT 1")?;
    if template.is_none() || member_template.is_none() {
        return Err("no application or member to clone: run `zhijian-dev generate` first".into());
    }
    let loading = Instant::now();
    let union = create_union(
        conn,
        &NewUnion {
            name: format!("迁移基准联合工会{}", uuid::Uuid::new_v4().simple()),
            kind: UnionKind::Joint,
            parent: Some(UnionId::new(county)),
            region: RegionCode::parse("500237").map_err(|e| e.to_string())?,
            credit_code: None,
            occupations: vec![],
            priority: -1000,
            review_hours: zhijian_domain::deadline::ReviewHours::DEFAULT,
            coverage: vec![],
        },
    )
    .map_err(|e| e.to_string())?;
    // not a routing candidate for anything else the bench does
    execute(
        conn,
        &format!(
            "UPDATE unions SET accepting = false WHERE id = {}",
            union.id
        ),
    )?;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let columns = APPLICATION_COLUMNS.join(", ");
    let values = APPLICATION_COLUMNS
        .iter()
        .map(|c| match *c {
            "id" => "gen_random_uuid()".to_owned(),
            "person_index" => format!("'{tag}' || n"),
            "union_id" => union.id.to_string(),
            "status" => "'pending_review'".to_owned(),
            "member_id" => "NULL".to_owned(),
            "due_at" => "coalesce(a.due_at, a.submitted_at + interval '1 day')".to_owned(),
            other => format!("a.{other}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    execute(
        conn,
        &format!(
            "INSERT INTO applications ({columns}) SELECT {values} \
             FROM (SELECT * FROM applications LIMIT 1) a CROSS JOIN generate_series(1, {applications}) n"
        ),
    )?;
    let members = applications / 10;
    execute(
        conn,
        &format!(
            "INSERT INTO members (id, person_index, account_id, membership_number, union_id, name, \
                 joined_on, status, version, application_id, created_at, updated_at) \
             SELECT gen_random_uuid(), '{tag}m' || n, m.account_id, \
                 'B' || lpad(((extract(epoch FROM clock_timestamp()) * 1000)::bigint % 1000000)::text, 6, '0') \
                     || lpad(n::text, 9, '0'), \
                 {u}, m.name, m.joined_on, 'active', 1, m.application_id, m.created_at, m.updated_at \
             FROM (SELECT * FROM members LIMIT 1) m CROSS JOIN generate_series(1, {members}) n",
            u = union.id
        ),
    )?;
    execute(
        conn,
        &format!(
            "INSERT INTO audit_log (at, actor_kind, object_kind, object_id, action) \
             SELECT now(), 'system', 'application', id::text, 'submit' \
             FROM applications WHERE union_id = {}",
            union.id
        ),
    )?;
    for table in ["applications", "members", "audit_reach"] {
        execute(conn, &format!("ANALYZE {table}"))?;
    }
    let load_ms = loading.elapsed().as_millis();

    let root_path = UnionPath::parse(&format!("/{root}/")).map_err(|e| e.to_string())?;
    let actor = AdminActor {
        admin_id: uuid::Uuid::new_v4(),
        role: "manager",
        union_path: root_path,
    };
    let version: i64 = one_id(
        conn,
        &format!(
            "SELECT version::bigint AS id FROM unions WHERE id = {}",
            union.id
        ),
    )?
    .ok_or("the new union vanished")?;
    let input = MoveUnion {
        union: union.id,
        version: i32::try_from(version).map_err(|e| e.to_string())?,
        parent: target,
        batch_size,
    };
    let started = Instant::now();
    let moved = moving::start_move(conn, &actor, input, chrono::Utc::now())
        .map_err(|e| format!("the move was refused: {e}"))?;
    let switch_ms = started.elapsed().as_millis();
    let mut record = moved.record.ok_or("the union did not move")?;
    let (mut longest_batch_ms, mut collect_ms) = (0, Vec::new());
    while record.status == "running" {
        let step = Instant::now();
        let next =
            moving::run_batch(conn, &record, chrono::Utc::now()).map_err(|e| e.to_string())?;
        let ms = step.elapsed().as_millis();
        if next.rows_moved > record.rows_moved {
            longest_batch_ms = longest_batch_ms.max(ms);
        } else {
            collect_ms.push(ms);
        }
        record = next;
    }
    let total_ms = started.elapsed().as_millis();
    Ok(MoveFigures {
        applications,
        members,
        rows_moved: record.rows_moved,
        batch_size,
        batches: record.batches,
        switch_ms,
        longest_batch_ms,
        collect_ms,
        longest_transaction_ms: record.longest_batch_ms,
        total_ms,
        load_ms,
    })
}

/// The columns of `applications` a clone copies (the trigger sets `anchor_id`).
const APPLICATION_COLUMNS: [&str; 41] = [
    "id",
    "account_id",
    "person_index",
    "status",
    "version",
    "union_id",
    "routing_rule",
    "routing_explanation",
    "due_at",
    "submitted_at",
    "decided_at",
    "returned_at",
    "name",
    "resident_id_cipher",
    "phone_cipher",
    "phone_index",
    "gender",
    "birth_date",
    "ethnicity",
    "education",
    "political_status",
    "household_type",
    "household_region",
    "employment_status",
    "occupation",
    "employer_name",
    "employer_credit_code",
    "platform",
    "work_region",
    "work_address",
    "privacy_notice_version",
    "consented_at",
    "channel",
    "referral_code",
    "return_fields",
    "return_note",
    "reject_code",
    "reject_note",
    "member_id",
    "created_at",
    "updated_at",
];
