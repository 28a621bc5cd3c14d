//! `GET /v1/admin/members/export`: the register of a subtree as CSV and XLSX — exactly the
//! subtree's members in the status asked, personal data in clear or masked by role, cells that
//! look like formulas neutralised, every export audited with its row count, refusals with the
//! envelope and nothing audited.

use std::collections::BTreeSet;

use calamine::{Reader, Xlsx};
use diesel::RunQueryDsl;
use reqwest::Method;
use zhijian_devtools::generator;
use zhijian_domain::export::REGISTER_HEADER;
use zhijian_integration_tests::fixtures::{approved_member, count, person};
use zhijian_integration_tests::{TestApp, spawn_app};

/// The columns the tests read.
const NUMBER: usize = 0;
const NAME: usize = 1;
const RESIDENT_ID: usize = 2;
const PHONE: usize = 3;
const UNION_NAME: usize = 7;
const UNION_PATH: usize = 9;
const STATUS: usize = 11;
const EMPLOYER: usize = 12;
const PLATFORM: usize = 13;

fn text(app: &TestApp, sql: &str) -> String {
    let mut conn = app.db.connect();
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(&format!(
        "({sql})"
    )))
    .get_result(&mut conn)
    .unwrap()
}

fn execute(app: &TestApp, sql: &str) {
    let mut conn = app.db.connect();
    diesel::sql_query(sql).execute(&mut conn).unwrap();
}

fn numbers(app: &TestApp, sql: &str) -> BTreeSet<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        n: String,
    }
    let mut conn = app.db.connect();
    diesel::sql_query(sql)
        .load::<Row>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|r| r.n)
        .collect()
}

/// The path of the union an admin is bound to.
fn seat(app: &TestApp, username: &str) -> String {
    text(
        app,
        &format!(
            "SELECT u.path FROM admins a JOIN unions u ON u.id = a.union_id \
             WHERE a.username = '{username}'"
        ),
    )
}

async fn generate(app: &TestApp, target: i64) {
    let mut conn = app.db.connect();
    let pii = app.pii();
    tokio::task::spawn_blocking(move || {
        generator::generate_applications(&mut conn, &pii, target).unwrap();
    })
    .await
    .unwrap();
}

/// A download: status, headers and the raw body.
struct Download {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Download {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The CSV's records after the byte-order mark, header first.
    fn csv(&self) -> Vec<Vec<String>> {
        assert!(self.body.starts_with("\u{feff}".as_bytes()), "no BOM");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&self.body[3..]);
        reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    /// The XLSX's first sheet, header first, every cell as text; panics if any cell holds a
    /// formula.
    fn xlsx(&self) -> Vec<Vec<String>> {
        let mut workbook: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(self.body.clone())).unwrap();
        let sheet = workbook.sheet_names()[0].clone();
        let formulas = workbook.worksheet_formula(&sheet).unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "the register holds a formula"
        );
        let range = workbook.worksheet_range(&sheet).unwrap();
        range
            .rows()
            .map(|row| {
                row.iter()
                    .map(|cell| match cell {
                        calamine::Data::String(s) => s.clone(),
                        calamine::Data::Empty => String::new(),
                        other => panic!("a cell that is not a string: {other:?}"),
                    })
                    .collect()
            })
            .collect()
    }
}

async fn download(app: &TestApp, token: &str, query: &str) -> Download {
    let response = app
        .request(Method::GET, &format!("/v1/admin/members/export{query}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    Download {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

fn last_export_audit(app: &TestApp) -> (String, String) {
    let reason = text(
        app,
        "SELECT reason FROM audit_log WHERE action = 'export_members' ORDER BY id DESC LIMIT 1",
    );
    let actor = text(
        app,
        "SELECT a.username FROM audit_log l JOIN admins a ON a.id::text = l.actor_id \
         WHERE l.action = 'export_members' ORDER BY l.id DESC LIMIT 1",
    );
    (reason, actor)
}

fn exports_audited(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT count(*) FROM audit_log WHERE action = 'export_members'",
    )
}

#[tokio::test]
async fn the_register_holds_exactly_the_subtree_in_the_status_asked_in_csv_and_xlsx() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let (_, membership) = approved_member(&app, "export-a", 21).await;
    let number = membership["membership_number"].as_str().unwrap().to_owned();
    generate(&app, 3000).await;
    let county = seat(&app, "wushan-manager");
    // Some members of the county and elsewhere are not active.
    execute(
        &app,
        &format!(
            "UPDATE members SET status = 'retained' WHERE id IN (SELECT id FROM members \
             WHERE membership_number <> '{number}' ORDER BY id DESC LIMIT 300)"
        ),
    );
    let expected = numbers(
        &app,
        &format!(
            "SELECT m.membership_number AS n FROM members m JOIN unions u ON u.id = m.union_id \
             WHERE u.path LIKE '{county}%' AND m.status = 'active'"
        ),
    );
    assert!(
        expected.len() > 20,
        "the county has {} members",
        expected.len()
    );
    assert!(expected.contains(&number));
    let elsewhere = count(&app, "SELECT count(*) FROM members") as usize;
    assert!(elsewhere > expected.len() + 100);

    let manager = app.admin_token("wushan-manager").await;
    let csv = download(&app, &manager, "?format=csv&status=active").await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(csv.header("cache-control"), "no-store");
    let disposition = csv.header("content-disposition");
    assert!(
        disposition.starts_with("attachment; filename=\"members-"),
        "{disposition}"
    );
    // 会员名册 in UTF-8, percent-encoded (RFC 5987).
    assert!(
        disposition.contains("filename*=UTF-8''%E4%BC%9A%E5%91%98%E5%90%8D%E5%86%8C-"),
        "{disposition}"
    );
    assert!(disposition.ends_with(".csv"), "{disposition}");
    let records = csv.csv();
    assert_eq!(records[0], REGISTER_HEADER);
    let lines = &records[1..];
    let got: BTreeSet<String> = lines.iter().map(|r| r[NUMBER].clone()).collect();
    assert_eq!(got, expected);
    assert_eq!(lines.len(), expected.len(), "no member twice");
    assert!(lines.iter().all(|r| r[STATUS] == "正常"));
    // The manager sees personal data in clear.
    let mine = lines.iter().find(|r| r[NUMBER] == number).unwrap();
    assert_eq!(mine[NAME], "张三");
    assert_eq!(mine[RESIDENT_ID], person(21));
    assert_eq!(mine[PHONE], "13812341234");
    assert_eq!(mine[EMPLOYER], "巫山县某快递网点");
    assert_eq!(mine[PLATFORM], "某快递");
    assert!(mine[UNION_PATH].ends_with(&format!("/{}", mine[UNION_NAME])));
    let (reason, actor) = last_export_audit(&app);
    assert_eq!(actor, "wushan-manager");
    assert!(
        reason.contains(&format!("rows={} ", expected.len())),
        "{reason}"
    );
    assert!(reason.contains("format=csv"), "{reason}");
    assert!(reason.contains("status=active"), "{reason}");
    assert!(reason.contains("pii=clear"), "{reason}");
    assert!(reason.ends_with("outcome=complete"), "{reason}");

    // The same register as XLSX.
    let xlsx = download(&app, &manager, "?format=xlsx&status=active").await;
    assert_eq!(xlsx.status, 200);
    assert_eq!(
        xlsx.header("content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(xlsx.header("content-disposition").ends_with(".xlsx"));
    assert_eq!(xlsx.header("cache-control"), "no-store");
    let rows = xlsx.xlsx();
    assert_eq!(rows[0], REGISTER_HEADER);
    assert_eq!(&rows[1..], lines, "the XLSX holds the CSV's lines");
    assert_eq!(exports_audited(&app), 2);

    // Without a status filter: every status.
    let all = download(&app, &manager, "").await.csv();
    let every = count(
        &app,
        &format!(
            "SELECT count(*) FROM members m JOIN unions u ON u.id = m.union_id \
             WHERE u.path LIKE '{county}%'"
        ),
    );
    assert_eq!(all.len() - 1, every as usize);
    assert!(every as usize > expected.len(), "some are retained");
}

#[tokio::test]
async fn viewers_get_masked_personal_data_and_reviewers_clear_within_their_subtree() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let (_, membership) = approved_member(&app, "export-b", 22).await;
    let number = membership["membership_number"].as_str().unwrap();

    let viewer = app.admin_token("wushan-viewer").await;
    let records = download(&app, &viewer, "?status=active").await.csv();
    let line = records.iter().find(|r| r[NUMBER] == number).unwrap();
    let id = person(22);
    assert_eq!(
        line[RESIDENT_ID],
        format!("{}********{}", &id[..6], &id[14..])
    );
    assert_eq!(line[PHONE], "138****1234");
    let (reason, actor) = last_export_audit(&app);
    assert_eq!(actor, "wushan-viewer");
    assert!(reason.contains("pii=masked"), "{reason}");
    assert!(reason.contains("rows=1 "), "{reason}");

    let xlsx = download(&app, &viewer, "?format=xlsx").await.xlsx();
    assert_eq!(xlsx[1][RESIDENT_ID], line[RESIDENT_ID]);
    assert_eq!(xlsx[1][PHONE], "138****1234");

    // A reviewer of the courier federation (where the member is) sees it in clear.
    let reviewer = app.admin_token("courier-reviewer").await;
    let records = download(&app, &reviewer, "").await.csv();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1][RESIDENT_ID], id);
    // A reviewer of another subtree exports an empty register (the header only).
    let other = app.admin_token("delivery-reviewer").await;
    let records = download(&app, &other, "").await.csv();
    assert_eq!(records, vec![REGISTER_HEADER.map(str::to_owned).to_vec()]);
    assert_eq!(exports_audited(&app), 4);
}

#[tokio::test]
async fn cells_that_look_like_formulas_are_neutralised() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let (_, membership) = approved_member(&app, "export-c", 23).await;
    let number = membership["membership_number"].as_str().unwrap();
    // The name rule refuses these; a register imported from elsewhere may still hold them.
    execute(
        &app,
        &format!("UPDATE members SET name = '=1+2' WHERE membership_number = '{number}'"),
    );
    execute(
        &app,
        &format!(
            "UPDATE applications SET employer_name = '@SUM(A1)', platform = '-2+3' \
             WHERE member_id = (SELECT id FROM members WHERE membership_number = '{number}')"
        ),
    );
    let manager = app.admin_token("wushan-manager").await;
    let csv = download(&app, &manager, "").await.csv();
    let line = csv.iter().find(|r| r[NUMBER] == number).unwrap();
    assert_eq!(line[NAME], "'=1+2");
    assert_eq!(line[EMPLOYER], "'@SUM(A1)");
    assert_eq!(line[PLATFORM], "'-2+3");
    // XLSX: strings, never formulas (`xlsx()` checks there is none).
    let xlsx = download(&app, &manager, "?format=xlsx").await.xlsx();
    let line = xlsx.iter().find(|r| r[NUMBER] == number).unwrap();
    assert_eq!(line[NAME], "=1+2");
    assert_eq!(line[EMPLOYER], "@SUM(A1)");
    assert_eq!(line[PLATFORM], "-2+3");
}

#[tokio::test]
async fn bad_filters_and_unions_outside_the_subtree_are_refused_and_nothing_is_audited() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let reviewer = app.admin_token("courier-reviewer").await;
    let county: i64 = text(
        &app,
        "SELECT u.id::text FROM admins a JOIN unions u ON u.id = a.union_id \
         WHERE a.username = 'wushan-manager'",
    )
    .parse()
    .unwrap();
    let cases = [
        ("?format=pdf", 400, "invalid_export_format", Some("format")),
        ("?format=", 400, "invalid_export_format", Some("format")),
        (
            "?status=sleeping",
            400,
            "invalid_member_status",
            Some("status"),
        ),
        ("?union_id=0", 400, "invalid_union_id", Some("union_id")),
        (&*format!("?union_id={county}"), 404, "not_found", None),
        ("?union_id=999999", 404, "not_found", None),
    ];
    for (query, status, code, field) in cases {
        let response = app
            .call(
                Method::GET,
                &format!("/v1/admin/members/export{query}"),
                &reviewer,
                None,
            )
            .await;
        assert_eq!(response.status, status, "{query}: {}", response.text);
        assert_eq!(response.body["code"], code, "{query}");
        assert_eq!(response.body["field"].as_str(), field, "{query}");
    }
    let anonymous = app.get("/v1/admin/members/export").await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(exports_audited(&app), 0);
    // The manager of the county exports the courier federation below it.
    let courier = text(
        &app,
        "SELECT u.id::text FROM admins a JOIN unions u ON u.id = a.union_id \
         WHERE a.username = 'courier-reviewer'",
    );
    let manager = app.admin_token("wushan-manager").await;
    let response = download(&app, &manager, &format!("?union_id={courier}")).await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-disposition")
            .contains(&format!("members-{courier}-"))
    );
    let (reason, _) = last_export_audit(&app);
    assert!(reason.contains(&format!("union={courier} ")), "{reason}");
}

#[tokio::test]
async fn a_register_of_thousands_streams_whole() {
    let app = spawn_app().await;
    app.seed_demo().await;
    generate(&app, 5000).await;
    // Every generated member moves into the county, so its register has thousands of lines.
    let county = text(
        &app,
        "SELECT u.id::text FROM admins a JOIN unions u ON u.id = a.union_id \
         WHERE a.username = 'wushan-manager'",
    );
    execute(&app, &format!("UPDATE members SET union_id = {county}"));
    let members = count(&app, "SELECT count(*) FROM members");
    assert!(members > 3000, "{members}");
    let manager = app.admin_token("wushan-manager").await;
    let csv = download(&app, &manager, "").await;
    assert_eq!(csv.status, 200);
    let records = csv.csv();
    assert_eq!(records.len() as i64, members + 1);
    let distinct: BTreeSet<&String> = records[1..].iter().map(|r| &r[NUMBER]).collect();
    assert_eq!(distinct.len() as i64, members);
    let (reason, _) = last_export_audit(&app);
    assert!(reason.contains(&format!("rows={members} ")), "{reason}");
    let xlsx = download(&app, &manager, "?format=xlsx").await.xlsx();
    assert_eq!(xlsx.len() as i64, members + 1);
}
