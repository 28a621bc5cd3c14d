//! The server and `openapi.yaml` describe the same API.

use std::collections::BTreeSet;

use zhijian_integration_tests::contract::spec;
use zhijian_integration_tests::spawn_app;

#[test]
fn the_server_has_exactly_the_routes_of_the_contract() {
    let server: BTreeSet<(String, String)> = zhijian_api::routes::operations()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path.to_owned()))
        .collect();
    let contract: BTreeSet<(String, String)> = spec().operations().into_iter().collect();
    let missing_in_contract: Vec<_> = server.difference(&contract).collect();
    let missing_in_server: Vec<_> = contract.difference(&server).collect();
    assert!(
        missing_in_contract.is_empty(),
        "routes not in openapi.yaml: {missing_in_contract:?}"
    );
    assert!(
        missing_in_server.is_empty(),
        "openapi.yaml operations the server lacks: {missing_in_server:?}"
    );
}

#[test]
fn every_operation_documents_its_errors_and_every_ref_resolves() {
    let doc = &spec().doc;
    for (method, path) in spec().operations() {
        let op = &doc["paths"][&path][method.to_lowercase()];
        assert!(
            op["operationId"].is_string(),
            "{method} {path} has no operationId"
        );
        assert!(op["summary"].is_string(), "{method} {path} has no summary");
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path} has no success response"
        );
        if path.starts_with("/v1/") {
            assert!(
                responses.contains_key("503"),
                "{method} {path} does not document 503"
            );
        }
    }
    let text = serde_json::to_string(doc).unwrap();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        assert!(
            doc.pointer(target.trim_start_matches('#')).is_some(),
            "dangling $ref {target}"
        );
    }
}

#[tokio::test]
async fn the_contract_is_served_as_yaml_and_as_a_page() {
    let app = spawn_app().await;
    let yaml = app.get("/openapi.yaml").await;
    assert_eq!(yaml.status, 200);
    assert!(
        yaml.header("content-type")
            .unwrap()
            .starts_with("application/yaml")
    );
    let served: serde_json::Value = serde_yaml::from_str(&yaml.text).unwrap();
    assert_eq!(&served, &spec().doc);

    let docs = app.get("/docs").await;
    assert_eq!(docs.status, 200);
    assert!(
        docs.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(docs.text.contains("/v1/regions/{code}/children"));
    assert!(
        !docs.text.contains("<script") && !docs.text.contains("<link"),
        "no external resources"
    );
}

/// YAML parsers differ on duplicate keys (ours keeps the last one silently), so a duplicated
/// component or path would hide half of the contract: refuse it outright.
#[test]
fn the_contract_has_no_duplicate_keys() {
    let text = std::fs::read_to_string(
        zhijian_integration_tests::database::repo_root().join("openapi.yaml"),
    )
    .unwrap();
    // (indent of the mapping, keys seen in it)
    let mut scopes: Vec<(usize, std::collections::BTreeSet<String>)> =
        vec![(0, Default::default())];
    let mut in_block_scalar: Option<usize> = None;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut indent = line.len() - trimmed.len();
        if let Some(block) = in_block_scalar {
            if indent > block {
                continue;
            }
            in_block_scalar = None;
        }
        let mut rest = trimmed;
        if let Some(item) = rest.strip_prefix("- ") {
            // A sequence item opens a fresh mapping two columns in.
            indent += 2;
            rest = item;
            scopes.retain(|(i, _)| *i < indent);
            scopes.push((indent, Default::default()));
        }
        // A quoted key may hold a colon (`"applications:write": …`).
        let split = match rest.strip_prefix('"').and_then(|r| r.find("\":")) {
            Some(end) => Some((&rest[..end + 2], &rest[end + 3..])),
            None => rest.split_once(':'),
        };
        let Some((key, value)) = split else {
            continue;
        };
        if key.contains(' ') && !key.starts_with('"') {
            continue;
        }
        while scopes.last().is_some_and(|(i, _)| *i > indent) {
            scopes.pop();
        }
        if scopes.last().is_none_or(|(i, _)| *i < indent) {
            scopes.push((indent, Default::default()));
        }
        let keys = &mut scopes.last_mut().unwrap().1;
        assert!(
            keys.insert(key.trim_matches('"').to_owned()),
            "openapi.yaml line {}: duplicate key {key}",
            number + 1
        );
        let value = value.trim();
        if value == "|" || value == ">" || value.starts_with("|-") || value.starts_with(">-") {
            in_block_scalar = Some(indent);
        }
    }
}
