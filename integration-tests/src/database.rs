//! `TestDatabase`: a private PostgreSQL database per test, cloned from a template.
//!
//! The template is migrated and loaded with the region data once (across processes, under an
//! advisory lock) and named after a fingerprint of the migrations, so a schema change builds a
//! new one. Each test then gets `CREATE DATABASE … TEMPLATE …` — a file copy, fast — and the
//! guard drops it afterwards.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use sha2::{Digest, Sha256};

/// Where the test PostgreSQL lives: an admin URL to its `postgres` database.
pub fn admin_url() -> String {
    std::env::var("ZHIJIAN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:54329/postgres".to_owned())
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A database of one's own, dropped with the guard.
#[derive(Debug)]
pub struct TestDatabase {
    /// The database name.
    pub name: String,
    /// A URL to it.
    pub url: String,
}

impl TestDatabase {
    /// Clones the template into a new database.
    pub fn new() -> Self {
        let template = template();
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect(&admin_url());
        let mut attempt = 0;
        loop {
            let created = sql_query(format!(
                r#"CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY"#
            ))
            .execute(&mut admin);
            match created {
                Ok(_) => break,
                // Another process may be touching the template for an instant.
                Err(e) if attempt < 20 => {
                    attempt += 1;
                    log::debug!("retrying database clone: {e}");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => panic!("cannot clone the template database: {e}"),
            }
        }
        Self {
            url: database_url(&name),
            name,
        }
    }

    /// A fresh connection to this database.
    pub fn connect(&self) -> PgConnection {
        connect(&self.url)
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
            let _ = sql_query(format!(
                r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// The URL of database `name` on the test server.
pub fn database_url(name: &str) -> String {
    let admin = admin_url();
    match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("ZHIJIAN_TEST_DATABASE_URL must end with /<database>"),
    }
}

fn connect(url: &str) -> PgConnection {
    PgConnection::establish(url).unwrap_or_else(|e| {
        panic!(
            "cannot connect to the test PostgreSQL at {url}: {e}\n\
             start it with `make db-up` (or run `make test`), or set ZHIJIAN_TEST_DATABASE_URL"
        )
    })
}

/// The name of the ready template, building it if needed.
pub fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(build_template)
}

/// A fingerprint of everything that goes into the template.
fn fingerprint() -> String {
    let mut hasher = Sha256::new();
    let mut files: Vec<PathBuf> = Vec::new();
    collect_files(&repo_root().join("migrations"), &mut files);
    files.sort();
    for file in files {
        // Relative to the checkout: two checkouts of the same schema share one template (with
        // absolute paths, each dropped the other's as stale and rebuilt its own, again and again).
        let name = file.strip_prefix(repo_root()).unwrap_or(&file);
        hasher.update(name.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).unwrap_or_default());
    }
    for extra in [
        "data/regions/villages.csv.gz",
        "infra/src/store/regions.rs",
        "devtools/src/demo.rs",
    ] {
        hasher.update(std::fs::read(repo_root().join(extra)).unwrap_or_default());
    }
    hex::encode(&hasher.finalize()[..6])
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect_files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
}

const TEMPLATE_LOCK: i64 = 0x7a_68_69_6a_74_70_6c;

fn build_template() -> String {
    let name = format!("zhijian_tpl_{}", fingerprint());
    let mut admin = connect(&admin_url());
    sql_query(format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .execute(&mut admin)
        .expect("template lock");
    let exists = database_exists(&mut admin, &name);
    if !exists {
        let building = format!("{name}_building");
        sql_query(format!(
            r#"DROP DATABASE IF EXISTS "{building}" WITH (FORCE)"#
        ))
        .execute(&mut admin)
        .expect("drop");
        sql_query(format!(r#"CREATE DATABASE "{building}""#))
            .execute(&mut admin)
            .expect("create template");
        {
            let mut conn = connect(&database_url(&building));
            zhijian_infra::db::migrations::run_pending(&mut conn)
                .expect("migrations apply to the template");
            zhijian_infra::store::regions::import_regions(
                &mut conn,
                &repo_root().join("data/regions"),
            )
            .expect("regions import into the template");
        }
        sql_query(format!(r#"ALTER DATABASE "{building}" RENAME TO "{name}""#))
            .execute(&mut admin)
            .expect("rename");
        sql_query(format!(r#"ALTER DATABASE "{name}" IS_TEMPLATE true"#))
            .execute(&mut admin)
            .expect("mark template");
        drop_stale_templates(&mut admin, &name);
    }
    sql_query(format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .execute(&mut admin)
        .expect("template unlock");
    name
}

fn database_exists(conn: &mut PgConnection, name: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Found>(conn)
        .map(|f| f.n > 0)
        .expect("query pg_database")
}

/// Old templates from earlier schemas only take disk space.
/// How many templates (one per schema fingerprint) are kept: the newest few, so checkouts or
/// branches of different schemas testing against the same PostgreSQL at the same time do not drop
/// each other's template and rebuild their own for every test.
const TEMPLATES_KEPT: i64 = 4;

fn drop_stale_templates(conn: &mut PgConnection, keep: &str) {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    // newest first by oid; `_building` leftovers of an interrupted build are stale too
    let stale: Vec<Name> = sql_query(
        "SELECT datname FROM ( \
           SELECT datname, row_number() OVER (ORDER BY (datname LIKE '%\\_building'), oid DESC) AS n \
           FROM pg_database WHERE datname LIKE 'zhijian\\_tpl\\_%' AND datname <> $1) t \
         WHERE n >= $2",
    )
    .bind::<diesel::sql_types::Text, _>(keep)
    .bind::<diesel::sql_types::BigInt, _>(TEMPLATES_KEPT)
    .load(conn)
    .unwrap_or_default();
    for Name { datname } in stale {
        let _ = sql_query(format!(r#"ALTER DATABASE "{datname}" IS_TEMPLATE false"#)).execute(conn);
        let _ = sql_query(format!(
            r#"DROP DATABASE IF EXISTS "{datname}" WITH (FORCE)"#
        ))
        .execute(conn);
    }
}
