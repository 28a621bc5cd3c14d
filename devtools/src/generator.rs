//! A realistic data set at any scale, for `make bench` and for tests: unions for every county
//! and township of the real region data, and applications in every state with their accounts,
//! timeline, members, affiliations, membership numbers and review statistics.
//!
//! Everything is generated inside PostgreSQL (`generate_series` + `INSERT … SELECT`), so ten
//! million applications take minutes, not hours:
//!
//! - [`generate_unions`] builds, for every region that has none yet, a federation (总工会) per
//!   province, city, county and township, a joint union (联合工会) per township, a pool (临时库)
//!   per county, and industry federations for couriers, delivery riders and ride-hailing
//!   drivers, each group in about half of the counties (chosen by a hash of the code), so
//!   routing meets both rule 2 and rule 3. Idempotent; the demo county (if seeded) keeps its
//!   own tree.
//! - [`generate_applications`] grows the `applications` table to a target row count.
//!   Application `n` is a pure function of `n` (hashes of `n` choose everything), so growing
//!   10 k → 1 M → 10 M gives the same first 10 k rows as generating 10 M at once. Spread:
//!   townships are ranked by a hash of their code and drawn with density ∝ rank^(-2/3) (the top
//!   1 % of townships get about a fifth of all applications), and the demo county 巫山县 gets
//!   a fixed [`HOT_COUNTY_SHARE`] on top — the "busy county" the benchmarks' admin reviews.
//!   Occupation groups and statuses are uneven too (delivery riders and couriers dominate; 10 %
//!   of applications wait in the queue as a backlog, 70 % are approved).
//!
//! Each generated application routes exactly as [`zhijian_domain::routing::route`] would
//! (industry federation of the county for its occupation if there is one, else the joint union
//! of the township; pooled ones sit in the county pool), and each approved one has its member
//! with a valid membership number taken from the county's counter, so the API keeps working on
//! generated data (approvals continue the numbering).
//!
//! Personal data: each application is a distinct synthetic person (its blind index is the
//! SHA-256 of `gen-person:<n>`, which no real blind index equals), while names, resident IDs
//! and phones come from a pool of [`PEOPLE_POOL`] synthetic people sealed with the server's own
//! [`PiiCipher`], so the detail view decrypts them. The timeline holds the submission only; no
//! audit or outbox rows are generated (no notification is owed for generated history).
//!
//! Loads larger than [`REINDEX_THRESHOLD`] drop the non-unique indexes of the tables they fill
//! and rebuild them afterwards (their definitions are read from the catalogue first), and the
//! load runs with `session_replication_role = replica` (no foreign-key triggers: the rows are
//! consistent by construction; the columns triggers would have filled, the anchors of
//! applications and members, are copied from their union's `anchor_id`). That setting needs a
//! superuser, which the private development and benchmark databases have. Everything happens
//! in one transaction with `ANALYZE`, then `VACUUM` of the tables filled.

use chrono::{Datelike, NaiveDate};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Integer, Nullable, Text};

use zhijian_infra::crypto::pii::PiiCipher;
use zhijian_infra::db::StoreError;

/// The busy county: 巫山县, the demo county.
pub const HOT_COUNTY: &str = crate::demo::COUNTY;

/// The share of all applications that go to [`HOT_COUNTY`] (on top of its share of the skewed
/// spread).
pub const HOT_COUNTY_SHARE: f64 = 0.02;

/// How many synthetic people (sealed names, IDs, phones) the rows draw on.
pub const PEOPLE_POOL: usize = 1024;

/// Batches of at least this many rows drop and rebuild the non-unique indexes.
pub const REINDEX_THRESHOLD: i64 = 100_000;

/// The tables a load fills (their non-unique indexes are rebuilt for large loads).
const LOADED_TABLES: [&str; 5] = [
    "accounts",
    "applications",
    "application_events",
    "members",
    "affiliations",
];

/// What [`generate_unions`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnionsReport {
    /// Unions created by this run.
    pub created: i64,
    /// Unions in the table afterwards.
    pub total: i64,
}

/// What [`generate_applications`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateReport {
    /// Applications in the table before.
    pub before: i64,
    /// Applications added.
    pub added: i64,
    /// Members added (one per approved application).
    pub members_added: i64,
    /// Whether the non-unique indexes were dropped and rebuilt around the load.
    pub reindexed: bool,
    /// Milliseconds per step, in order.
    pub steps: Vec<(&'static str, u128)>,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The regions are not loaded.
    #[error("the regions table is empty: run `zhijian import-regions` first")]
    NoRegions,
    /// Sealing the synthetic people failed.
    #[error("cannot seal synthetic personal data: {0}")]
    Seal(String),
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for GenerateError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Store(error.into())
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> Result<i64, diesel::result::Error> {
    Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n)
}

/// Builds the union tree over every region that has none (see the module documentation);
/// idempotent. One transaction.
pub fn generate_unions(conn: &mut PgConnection) -> Result<UnionsReport, GenerateError> {
    conn.transaction(|conn| {
        if count(conn, "SELECT count(*) AS n FROM regions WHERE level = 3")? == 0 {
            return Err(GenerateError::NoRegions);
        }
        let before = count(conn, "SELECT count(*) AS n FROM unions")?;
        // Federations level by level (each level's parent is the federation one level up,
        // or the nearest federation above it), then the county and township children.
        diesel::sql_query(FEDERATIONS_OF_PROVINCES).execute(conn)?;
        for level in 2..=4 {
            diesel::sql_query(FEDERATIONS_BELOW)
                .bind::<Integer, _>(level)
                .execute(conn)?;
        }
        // A pool per county, industry federations in about half the counties, a joint union
        // per township.
        let children = std::iter::once(("pool", "临时库", 3, None, 0))
            .chain(INDUSTRIES.iter().map(|&(group, suffix, salt)| {
                ("industry_federation", suffix, 3, Some(group), salt)
            }))
            .chain(std::iter::once(("joint", "联合工会", 4, None, 0)));
        for (kind, suffix, level, group, salt) in children {
            diesel::sql_query(CHILD_UNIONS)
                .bind::<Text, _>(kind)
                .bind::<Text, _>(suffix)
                .bind::<Integer, _>(level)
                .bind::<Nullable<Text>, _>(group)
                .bind::<BigInt, _>(salt)
                .execute(conn)?;
        }
        let total = count(conn, "SELECT count(*) AS n FROM unions")?;
        Ok(UnionsReport {
            created: total - before,
            total,
        })
    })
}

/// Occupation groups with a county industry federation, its name suffix and a hash salt.
const INDUSTRIES: [(&str, &str, i64); 3] = [
    ("courier", "快递行业工会联合会", 101),
    ("delivery_rider", "外卖配送行业工会联合会", 102),
    ("ride_hailing_driver", "网约车行业工会联合会", 103),
];

/// A union is inserted with its final path: the id is drawn first, then the path is the
/// parent's path plus the id.
const FEDERATIONS_OF_PROVINCES: &str = "
INSERT INTO unions (id, name, kind, parent_id, region_code, path)
SELECT s.id, s.name || '总工会', 'federation', NULL, s.code, '/' || s.id || '/'
FROM (SELECT nextval('unions_id_seq') AS id, r.code, r.name
      FROM regions r
      WHERE r.level = 1
        AND NOT EXISTS (SELECT 1 FROM unions u WHERE u.region_code = r.code AND u.kind = 'federation')
      ORDER BY r.code) s";

const FEDERATIONS_BELOW: &str = "
INSERT INTO unions (id, name, kind, parent_id, region_code, path)
SELECT s.id, s.name || '总工会', 'federation', s.parent_id, s.code, s.parent_path || s.id || '/'
FROM (SELECT nextval('unions_id_seq') AS id, r.code, r.name, p.id AS parent_id, p.path AS parent_path
      FROM regions r
      CROSS JOIN LATERAL (
          SELECT u.id, u.path FROM unions u
          WHERE u.kind = 'federation'
            AND u.region_code IN (r.parent_code, left(r.parent_code, 4), left(r.parent_code, 2))
          ORDER BY length(u.region_code) DESC, u.id
          LIMIT 1) p
      WHERE r.level = $1
        AND NOT EXISTS (SELECT 1 FROM unions u WHERE u.region_code = r.code AND u.kind = 'federation')
      ORDER BY r.code) s";

/// A union of kind `$1`, named after its region plus `$2`, under the federation of the same
/// region, for every region of level `$3` without one. With an occupation group `$4` (else
/// NULL) the union serves that group, "without one" means without one for that group, and only
/// regions whose code hashes even with the salt `$5` get one (about half).
const CHILD_UNIONS: &str = "
INSERT INTO unions (id, name, kind, parent_id, region_code, path, occupations)
SELECT s.id, s.name || $2, $1, s.parent_id, s.code, s.parent_path || s.id || '/',
       CASE WHEN $4::text IS NULL THEN '{}'::text[] ELSE ARRAY[$4::text] END
FROM (SELECT nextval('unions_id_seq') AS id, r.code, r.name, p.id AS parent_id, p.path AS parent_path
      FROM regions r
      CROSS JOIN LATERAL (
          SELECT u.id, u.path FROM unions u
          WHERE u.kind = 'federation' AND u.region_code = r.code ORDER BY u.id LIMIT 1) p
      WHERE r.level = $3
        AND ($4::text IS NULL OR hashtextextended(r.code, $5) % 2 = 0)
        AND NOT EXISTS (SELECT 1 FROM unions u
                        WHERE u.region_code = r.code AND u.kind = $1
                          AND ($4::text IS NULL OR $4::text = ANY (u.occupations)))
      ORDER BY r.code) s";

/// Grows `applications` to `target` rows (nothing to do when it already has as many): builds
/// the union tree first if needed, then generates the missing applications with everything
/// that hangs off them. One transaction; see the module documentation.
pub fn generate_applications(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    target: i64,
) -> Result<GenerateReport, GenerateError> {
    generate_unions(conn)?;
    let people = people_pool(pii)?;
    let report = conn.transaction(|conn| {
        let before = count(conn, "SELECT count(*) AS n FROM applications")?;
        let added = (target - before).max(0);
        if added == 0 {
            return Ok(GenerateReport {
                before,
                added: 0,
                members_added: 0,
                reindexed: false,
                steps: Vec::new(),
            });
        }
        for setting in [
            "SET LOCAL session_replication_role = replica",
            "SET LOCAL synchronous_commit = off",
            "SET LOCAL work_mem = '256MB'",
            "SET LOCAL maintenance_work_mem = '1GB'",
            "SET LOCAL max_parallel_maintenance_workers = 2",
            "SET LOCAL TIME ZONE 'UTC'",
        ] {
            diesel::sql_query(setting).execute(conn)?;
        }
        conn.batch_execute(FUNCTIONS)?;
        load_people(conn, &people)?;
        conn.batch_execute(&townships_sql())?;

        let mut steps = Vec::new();
        let mut clock = std::time::Instant::now();
        let mut lap = |name: &'static str| {
            steps.push((name, clock.elapsed().as_millis()));
            clock = std::time::Instant::now();
        };
        let reindexed = added >= REINDEX_THRESHOLD;
        let rebuild = if reindexed {
            drop_secondary_indexes(conn)?
        } else {
            Vec::new()
        };
        lap("prepare");

        // Numbering continues after every row already there (n never repeats, so every
        // derived id and blind index is new).
        conn.batch_execute(&batch_sql(before + 1, before + added))?;
        lap("batch");
        for (name, statement) in [
            ("accounts", ACCOUNTS),
            ("applications", APPLICATIONS),
            ("application_events", EVENTS),
            ("members", MEMBERS),
            ("affiliations", AFFILIATIONS),
            ("membership_counters", COUNTERS),
        ] {
            diesel::sql_query(statement).execute(conn)?;
            lap(name);
        }
        let members_added = count(
            conn,
            "SELECT count(*) AS n FROM gen_batch WHERE status = 'approved'",
        )?;
        // The coverage counters are recounted from the base rows just written.
        zhijian_infra::store::counters::rebuild(conn)?;
        lap("counters");

        for definition in &rebuild {
            diesel::sql_query(definition.as_str()).execute(conn)?;
        }
        lap("indexes");
        for table in LOADED_TABLES.iter().chain(&[
            "membership_counters",
            "union_stats_daily",
            "union_stats_active",
        ]) {
            diesel::sql_query(format!("ANALYZE {table}")).execute(conn)?;
        }
        lap("analyze");
        Ok::<_, GenerateError>(GenerateReport {
            before,
            added,
            members_added,
            reindexed,
            steps,
        })
    })?;
    let mut report = report;
    if report.added > 0 {
        // Outside the transaction: hint bits and the visibility map of every table filled, so
        // index-only scans do not visit the heap and autovacuum has nothing left to do on them
        // (it would otherwise get there later, in the middle of whatever runs next: a benchmark
        // should not depend on when).
        let clock = std::time::Instant::now();
        conn.batch_execute(&format!("VACUUM (ANALYZE) {}", LOADED_TABLES.join(", ")))?;
        report.steps.push(("vacuum", clock.elapsed().as_millis()));
    }
    Ok(report)
}

#[derive(QueryableByName)]
struct IndexDef {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

/// Drops the non-unique, non-constraint indexes of the loaded tables; returns the statements
/// that recreate them.
fn drop_secondary_indexes(conn: &mut PgConnection) -> Result<Vec<String>, GenerateError> {
    let indexes: Vec<IndexDef> = diesel::sql_query(
        "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_namespace s ON s.oid = t.relnamespace
         WHERE s.nspname = 'public' AND t.relname = ANY ($1)
           AND NOT i.indisunique AND NOT i.indisprimary
         ORDER BY t.relname, c.relname",
    )
    .bind::<Array<Text>, _>(LOADED_TABLES.to_vec())
    .load(conn)?;
    for index in &indexes {
        diesel::sql_query(format!("DROP INDEX \"{}\"", index.name)).execute(conn)?;
    }
    Ok(indexes.into_iter().map(|i| i.definition).collect())
}

/// Helpers for this transaction only (`pg_temp`): a uniform draw in [0, 1) from `(n, salt)`,
/// a version-7 UUID at `ts` from `(n, salt)`, and the MOD 11-2 check character of a 15-digit
/// membership-number body (weights 2^(16-i) mod 11, as `zhijian_domain::membership_number`).
const FUNCTIONS: &str = "
CREATE FUNCTION pg_temp.gen_u(n bigint, salt bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (hashint8extended(n, salt) & 4503599627370495)::float8 / 4503599627370496 $$;

CREATE FUNCTION pg_temp.gen_uuid(ts timestamptz, n bigint, salt text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0')
           || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid
   FROM (SELECT md5(salt || n::text) AS h) x $$;

CREATE FUNCTION pg_temp.gen_check(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE c WHEN 10 THEN 'X' ELSE c::text END
   FROM (SELECT (12 - (substr(s, 1, 1)::int * 10 + substr(s, 2, 1)::int * 5 + substr(s, 3, 1)::int * 8
                      + substr(s, 4, 1)::int * 4 + substr(s, 5, 1)::int * 2 + substr(s, 6, 1)::int * 1
                      + substr(s, 7, 1)::int * 6 + substr(s, 8, 1)::int * 3 + substr(s, 9, 1)::int * 7
                      + substr(s, 10, 1)::int * 9 + substr(s, 11, 1)::int * 10 + substr(s, 12, 1)::int * 5
                      + substr(s, 13, 1)::int * 8 + substr(s, 14, 1)::int * 4 + substr(s, 15, 1)::int * 2)
                      % 11) % 11 AS c) x $$;
";

/// Every township whose unions routing can reach, ranked by a hash of its code (`idx` 0..T),
/// then the hot county's townships again (`idx` T..T+H, `hot`), each with the union routing
/// would choose per occupation.
fn townships_sql() -> String {
    format!(
        "
CREATE TEMP TABLE gen_townships ON COMMIT DROP AS
WITH routed AS (
    SELECT t.code, t.name, t.county,
           j.id AS joint_id, j.name AS joint_name,
           c.id AS courier_id, c.name AS courier_name,
           d.id AS delivery_id, d.name AS delivery_name,
           h.id AS ride_id, h.name AS ride_name,
           o.id AS pool_id, o.name AS pool_name
    FROM (SELECT code, name, parent_code AS county FROM regions WHERE level = 4) t
    LEFT JOIN LATERAL (SELECT id, name FROM unions WHERE region_code = t.code AND kind = 'joint'
                       AND accepting ORDER BY priority DESC, id LIMIT 1) j ON true
    LEFT JOIN LATERAL (SELECT id, name FROM unions WHERE region_code = t.county
                       AND kind = 'industry_federation' AND accepting AND 'courier' = ANY (occupations)
                       ORDER BY priority DESC, id LIMIT 1) c ON true
    LEFT JOIN LATERAL (SELECT id, name FROM unions WHERE region_code = t.county
                       AND kind = 'industry_federation' AND accepting
                       AND 'delivery_rider' = ANY (occupations)
                       ORDER BY priority DESC, id LIMIT 1) d ON true
    LEFT JOIN LATERAL (SELECT id, name FROM unions WHERE region_code = t.county
                       AND kind = 'industry_federation' AND accepting
                       AND 'ride_hailing_driver' = ANY (occupations)
                       ORDER BY priority DESC, id LIMIT 1) h ON true
    LEFT JOIN LATERAL (SELECT id, name FROM unions WHERE region_code = t.county AND kind = 'pool'
                       AND accepting ORDER BY priority DESC, id LIMIT 1) o ON true
    WHERE j.id IS NOT NULL AND o.id IS NOT NULL
)
SELECT (row_number() OVER (ORDER BY md5(code)) - 1)::int AS idx, false AS hot, r.* FROM routed r
UNION ALL
SELECT ((SELECT count(*) FROM routed) + row_number() OVER (ORDER BY code) - 1)::int, true, r.*
FROM routed r WHERE r.county = '{HOT_COUNTY}';
CREATE UNIQUE INDEX ON gen_townships (idx);
ANALYZE gen_townships;
"
    )
}

/// The core of each new application `n` in `first..=last`: where, what, which state, which union.
/// Townships: the hot county with probability [`HOT_COUNTY_SHARE`], else rank ⌊T·u³⌋ (density ∝ rank^(-2/3)).
/// Open applications were submitted in the last five days, decided ones in the last two years;
/// deadlines are 18:00 Beijing time on the day of submission.
fn batch_sql(first: i64, last: i64) -> String {
    format!(
        "
CREATE TEMP TABLE gen_batch ON COMMIT DROP AS
WITH sizes AS (
    SELECT count(*) FILTER (WHERE NOT hot) AS t, count(*) FILTER (WHERE hot) AS h FROM gen_townships
), drawn AS (
    SELECT n,
           CASE WHEN s.h > 0 AND pg_temp.gen_u(n, 1) < {HOT_COUNTY_SHARE}
                THEN s.t + floor(pg_temp.gen_u(n, 2) * s.h)::int
                ELSE floor(s.t * power(pg_temp.gen_u(n, 2), 3))::int END AS idx,
           pg_temp.gen_u(n, 3) AS u_occupation,
           pg_temp.gen_u(n, 4) AS u_status,
           pg_temp.gen_u(n, 5) AS u_time
    FROM generate_series({first}::bigint, {last}::bigint) n, sizes s
), shaped AS (
    SELECT d.n, g.*,
           CASE WHEN d.u_occupation < 0.32 THEN 'delivery_rider'
                WHEN d.u_occupation < 0.54 THEN 'courier'
                WHEN d.u_occupation < 0.68 THEN 'ride_hailing_driver'
                WHEN d.u_occupation < 0.76 THEN 'truck_driver'
                WHEN d.u_occupation < 0.81 THEN 'domestic_worker'
                WHEN d.u_occupation < 0.84 THEN 'care_worker'
                WHEN d.u_occupation < 0.87 THEN 'security_guard'
                WHEN d.u_occupation < 0.90 THEN 'cleaner'
                WHEN d.u_occupation < 0.93 THEN 'livestream_host'
                WHEN d.u_occupation < 0.96 THEN 'construction_worker'
                WHEN d.u_occupation < 0.98 THEN 'factory_worker'
                WHEN d.u_occupation < 0.99 THEN 'real_estate_agent'
                WHEN d.u_occupation < 0.995 THEN 'farm_worker'
                ELSE 'other' END AS occupation,
           CASE WHEN d.u_status < 0.10 THEN 'pending_review'
                WHEN d.u_status < 0.12 THEN 'pooled'
                WHEN d.u_status < 0.14 THEN 'returned'
                WHEN d.u_status < 0.84 THEN 'approved'
                WHEN d.u_status < 0.90 THEN 'rejected'
                WHEN d.u_status < 0.95 THEN 'withdrawn'
                ELSE 'expired' END AS status,
           d.u_time
    FROM drawn d JOIN gen_townships g ON g.idx = d.idx
), routed AS (
    SELECT s.*,
           CASE WHEN s.status = 'pooled' THEN s.pool_id
                WHEN s.occupation = 'courier' AND s.courier_id IS NOT NULL THEN s.courier_id
                WHEN s.occupation = 'delivery_rider' AND s.delivery_id IS NOT NULL THEN s.delivery_id
                WHEN s.occupation = 'ride_hailing_driver' AND s.ride_id IS NOT NULL THEN s.ride_id
                ELSE s.joint_id END AS union_id,
           CASE WHEN s.status = 'pooled' THEN '按规则4（区域兜底）分派至 ' || s.pool_name || '（' || s.county || '）'
                WHEN s.occupation = 'courier' AND s.courier_id IS NOT NULL
                    THEN '按规则2（行业覆盖）分派至 ' || s.courier_name || '（' || s.county || '）'
                WHEN s.occupation = 'delivery_rider' AND s.delivery_id IS NOT NULL
                    THEN '按规则2（行业覆盖）分派至 ' || s.delivery_name || '（' || s.county || '）'
                WHEN s.occupation = 'ride_hailing_driver' AND s.ride_id IS NOT NULL
                    THEN '按规则2（行业覆盖）分派至 ' || s.ride_name || '（' || s.county || '）'
                ELSE '按规则3（属地联合工会）分派至 ' || s.joint_name || '（' || s.code || '）' END
               AS routing_explanation,
           CASE WHEN s.status = 'pooled' THEN 'pool'
                WHEN (s.occupation = 'courier' AND s.courier_id IS NOT NULL)
                  OR (s.occupation = 'delivery_rider' AND s.delivery_id IS NOT NULL)
                  OR (s.occupation = 'ride_hailing_driver' AND s.ride_id IS NOT NULL)
                    THEN 'industry_federation'
                ELSE 'joint_union' END AS routing_rule,
           date_trunc('second', now()) - CASE WHEN s.status IN ('pending_review', 'pooled', 'returned')
                                               THEN s.u_time * interval '5 days'
                                               ELSE interval '1 day' + s.u_time * interval '730 days' END
               AS submitted_at
    FROM shaped s
), timed AS (
    SELECT r.*,
           ((r.submitted_at AT TIME ZONE 'Asia/Shanghai')::date + time '18:00') AT TIME ZONE 'Asia/Shanghai'
               AS due_at,
           CASE WHEN r.status IN ('approved', 'rejected', 'withdrawn', 'expired')
                THEN r.submitted_at + pg_temp.gen_u(r.n, 6) * interval '10 hours' END AS decided_at
    FROM routed r
)
SELECT t.n, t.code AS work_region, t.county, t.occupation, t.status, t.union_id, t.routing_rule,
       t.routing_explanation, t.submitted_at, t.due_at, t.decided_at,
       t.name AS township_name,
       pg_temp.gen_uuid(t.submitted_at, t.n, 'gen-application:') AS app_id,
       pg_temp.gen_uuid(t.submitted_at, t.n, 'gen-account:') AS account_id,
       encode(sha256(convert_to('gen-person:' || t.n, 'UTF8')), 'hex') AS person_index,
       CASE WHEN t.status = 'approved' THEN pg_temp.gen_uuid(t.decided_at, t.n, 'gen-member:') END AS member_id,
       (hashint8extended(t.n, 7) & 1023)::int AS person,
       CASE WHEN t.status <> 'approved' THEN NULL
            WHEN pg_temp.gen_u(t.n, 8) < 0.92 THEN 'active'
            WHEN pg_temp.gen_u(t.n, 8) < 0.95 THEN 'retained'
            WHEN pg_temp.gen_u(t.n, 8) < 0.98 THEN 'withdrawn'
            WHEN pg_temp.gen_u(t.n, 8) < 0.99 THEN 'expelled'
            ELSE 'deceased' END AS member_status,
       (t.decided_at AT TIME ZONE 'Asia/Shanghai')::date AS joined_on
FROM timed t;
ANALYZE gen_batch;
"
    )
}

const ACCOUNTS: &str = "
INSERT INTO accounts (id, wechat_openid, created_at, updated_at)
SELECT account_id, 'o_gen_' || n, submitted_at, submitted_at FROM gen_batch";

/// Categorical fields are weighted by repeating values in arrays.
const APPLICATIONS: &str = "
INSERT INTO applications (
    id, account_id, person_index, status, version, union_id, routing_rule, routing_explanation,
    due_at, submitted_at, decided_at, returned_at, name, resident_id_cipher, phone_cipher,
    phone_index, gender, birth_date, ethnicity, education, political_status, household_type,
    household_region, employment_status, occupation, employer_name, employer_credit_code,
    platform, work_region, work_address, privacy_notice_version, consented_at, channel,
    referral_code, return_fields, return_note, reject_code, reject_note, member_id, created_at,
    updated_at, anchor_id)
SELECT b.app_id, b.account_id, b.person_index, b.status,
       CASE WHEN b.status IN ('pending_review', 'pooled') THEN 1 ELSE 2 END,
       b.union_id, b.routing_rule, b.routing_explanation, b.due_at, b.submitted_at, b.decided_at,
       CASE WHEN b.status = 'returned' THEN b.submitted_at + interval '2 hours' END,
       p.name, p.resident_id_cipher, p.phone_cipher, p.phone_index, p.gender, p.birth_date,
       (ARRAY['han','han','han','han','han','han','han','han','han','han','han','han','han','han',
              'han','han','han','zhuang','hui','tujia'])[1 + floor(pg_temp.gen_u(b.n, 11) * 20)::int],
       (ARRAY['primary_or_below','junior_high','junior_high','junior_high','senior_high','senior_high',
              'technical_secondary','technical_secondary','junior_college','bachelor'])
           [1 + floor(pg_temp.gen_u(b.n, 12) * 10)::int],
       (ARRAY['masses','masses','masses','masses','masses','masses','masses','cyl_member','cyl_member',
              'cpc_member'])[1 + floor(pg_temp.gen_u(b.n, 13) * 10)::int],
       CASE WHEN pg_temp.gen_u(b.n, 14) < 0.65 THEN 'agricultural' ELSE 'non_agricultural' END,
       CASE WHEN pg_temp.gen_u(b.n, 15) < 0.7 THEN b.county END,
       CASE WHEN pg_temp.gen_u(b.n, 16) < 0.7 THEN 'flexible'
            WHEN pg_temp.gen_u(b.n, 16) < 0.95 THEN 'employed' ELSE 'unemployed' END,
       b.occupation,
       CASE b.occupation WHEN 'delivery_rider' THEN b.township_name || '外卖配送站'
                         WHEN 'courier' THEN b.township_name || '快递网点'
                         WHEN 'ride_hailing_driver' THEN '网约车平台'
                         ELSE b.township_name || '个体经营' END,
       NULL,
       CASE b.occupation WHEN 'delivery_rider' THEN (ARRAY['美团','饿了么'])[1 + (b.n % 2)::int]
                         WHEN 'courier' THEN (ARRAY['顺丰','中通','京东','圆通'])[1 + (b.n % 4)::int]
                         WHEN 'ride_hailing_driver' THEN (ARRAY['滴滴','曹操','T3'])[1 + (b.n % 3)::int]
                         WHEN 'truck_driver' THEN '货拉拉' END,
       b.work_region, b.township_name || '人民路' || (1 + b.n % 300) || '号',
       '2026-01', b.submitted_at, 'mini_program', NULL,
       CASE WHEN b.status = 'returned' THEN ARRAY['work_address'] ELSE '{}'::text[] END,
       CASE WHEN b.status = 'returned' THEN '请补充详细工作地址' END,
       CASE WHEN b.status = 'rejected' THEN
           (ARRAY['incomplete_information','not_eligible','duplicate','false_information'])
               [1 + floor(pg_temp.gen_u(b.n, 17) * 4)::int] END,
       NULL,
       b.member_id, b.submitted_at,
       coalesce(b.decided_at, CASE WHEN b.status = 'returned' THEN b.submitted_at + interval '2 hours' END,
                b.submitted_at),
       q.anchor_id
FROM gen_batch b JOIN gen_people p ON p.k = b.person JOIN unions q ON q.id = b.union_id";

const EVENTS: &str = "
INSERT INTO application_events (application_id, event, from_status, to_status, union_id, actor_kind, actor_id, at)
SELECT app_id, 'submitted', NULL, 'pending_review', union_id, 'applicant', account_id, submitted_at
FROM gen_batch";

/// Numbers continue each county's counter for the year of joining.
const MEMBERS: &str = "
INSERT INTO members (id, person_index, account_id, membership_number, union_id, name, joined_on,
                     status, version, application_id, created_at, updated_at, anchor_id)
SELECT m.member_id, m.person_index, m.account_id, m.body || pg_temp.gen_check(m.body), m.union_id,
       p.name, m.joined_on, m.member_status, CASE WHEN m.member_status = 'active' THEN 1 ELSE 2 END,
       m.app_id, m.decided_at,
       CASE WHEN m.member_status = 'active' THEN m.decided_at
            ELSE m.decided_at + interval '30 days' END,
       q.anchor_id
FROM (SELECT b.*,
             b.county || lpad((extract(year FROM b.joined_on)::int % 100)::text, 2, '0')
                 || lpad((coalesce(c.last_value, 0)
                          + row_number() OVER (PARTITION BY b.county, extract(year FROM b.joined_on)
                                               ORDER BY b.n))::text, 7, '0') AS body
      FROM gen_batch b
      LEFT JOIN membership_counters c
             ON c.county_code = b.county AND c.year = extract(year FROM b.joined_on)::smallint
      WHERE b.status = 'approved') m
JOIN gen_people p ON p.k = m.person
JOIN unions q ON q.id = m.union_id";

const AFFILIATIONS: &str = "
INSERT INTO affiliations (member_id, union_id, started_at, ended_at, reason, membership_number, end_reason)
SELECT m.id, m.union_id, m.created_at,
       CASE WHEN m.status IN ('withdrawn', 'expelled', 'deceased') THEN m.updated_at END,
       'joined', m.membership_number,
       CASE WHEN m.status IN ('withdrawn', 'expelled', 'deceased') THEN m.status END
FROM gen_batch b JOIN members m ON m.id = b.member_id
WHERE b.status = 'approved'";

const COUNTERS: &str = "
INSERT INTO membership_counters (county_code, year, last_value)
SELECT county, extract(year FROM joined_on)::smallint, count(*)
FROM gen_batch WHERE status = 'approved'
GROUP BY 1, 2
ON CONFLICT (county_code, year)
DO UPDATE SET last_value = membership_counters.last_value + EXCLUDED.last_value";

/// One synthetic person of the pool, sealed.
struct Person {
    name: String,
    resident_id_cipher: String,
    phone_cipher: String,
    phone_index: String,
    gender: String,
    birth_date: NaiveDate,
}

const SURNAMES: [&str; 16] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: [&str; 16] = [
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "兰",
];

/// A valid resident ID (GB 11643 check character) for person `k` of the pool.
pub fn synthetic_resident_id(k: usize) -> (String, NaiveDate) {
    let birth = NaiveDate::from_ymd_opt(1970, 1, 1)
        .unwrap_or_default()
        .checked_add_days(chrono::Days::new((k as u64 * 7919) % 12_400))
        .unwrap_or_default();
    let body = format!(
        "{HOT_COUNTY}{:04}{:02}{:02}{:03}",
        birth.year(),
        birth.month(),
        birth.day(),
        k % 1000
    );
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = char::from(b"10X98765432"[(sum % 11) as usize]);
    (format!("{body}{check}"), birth)
}

fn people_pool(pii: &PiiCipher) -> Result<Vec<Person>, GenerateError> {
    (0..PEOPLE_POOL)
        .map(|k| {
            let (resident_id, birth_date) = synthetic_resident_id(k);
            let phone = format!("13{:09}", (k as u64 * 104_729) % 1_000_000_000);
            let seal = |value: &str, context: &str| {
                pii.encrypt(value, context)
                    .map(|s| s.to_string())
                    .map_err(|e| GenerateError::Seal(e.to_string()))
            };
            let gender = if (k % 1000) % 2 == 1 {
                "male"
            } else {
                "female"
            };
            Ok(Person {
                name: format!(
                    "{}{}{}",
                    SURNAMES[k % SURNAMES.len()],
                    GIVEN[(k / SURNAMES.len()) % GIVEN.len()],
                    if k % 3 == 0 {
                        GIVEN[(k / 7) % GIVEN.len()]
                    } else {
                        ""
                    }
                ),
                resident_id_cipher: seal(&resident_id, "resident_id")?,
                phone_cipher: seal(&phone, "phone")?,
                phone_index: pii.blind_index("phone", &phone),
                gender: gender.to_owned(),
                birth_date,
            })
        })
        .collect()
}

fn load_people(conn: &mut PgConnection, people: &[Person]) -> Result<(), diesel::result::Error> {
    diesel::sql_query(
        "CREATE TEMP TABLE gen_people (k int PRIMARY KEY, name text, resident_id_cipher text,
         phone_cipher text, phone_index text, gender text, birth_date date) ON COMMIT DROP",
    )
    .execute(conn)?;
    let column = |f: fn(&Person) -> String| people.iter().map(f).collect::<Vec<String>>();
    let keys: Vec<i32> = (0..people.len())
        .map(|k| i32::try_from(k).unwrap_or(i32::MAX))
        .collect();
    diesel::sql_query(
        "INSERT INTO gen_people
         SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::date[])",
    )
    .bind::<Array<Integer>, _>(keys)
    .bind::<Array<Text>, _>(column(|p| p.name.clone()))
    .bind::<Array<Text>, _>(column(|p| p.resident_id_cipher.clone()))
    .bind::<Array<Text>, _>(column(|p| p.phone_cipher.clone()))
    .bind::<Array<Text>, _>(column(|p| p.phone_index.clone()))
    .bind::<Array<Text>, _>(column(|p| p.gender.clone()))
    .bind::<Array<Date>, _>(people.iter().map(|p| p.birth_date).collect::<Vec<_>>())
    .execute(conn)?;
    Ok(())
}
