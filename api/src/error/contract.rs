//! The catalogue of error codes against `openapi.yaml`, both ways: the `Error.code` enum is
//! exactly the catalogue; every code an operation lists is in it; every code of the catalogue
//! is listed by some operation, as common, or as not answered by any operation yet (and then
//! by none). (That the server answers only listed codes is checked on every response of the
//! integration tests.)

use std::collections::BTreeSet;

use serde_yaml::Value;
use zhijian_domain::error_code::ErrorCode;

use crate::routes::docs::OPENAPI_YAML;

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn spec() -> Value {
    serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml parses")
}

#[test]
fn the_error_code_enum_is_the_catalogue() {
    let spec = spec();
    let documented: Vec<String> =
        strings(&spec["components"]["schemas"]["Error"]["properties"]["code"]["enum"]);
    let catalogue: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(
        documented, catalogue,
        "components.schemas.Error.properties.code.enum must be the catalogue in its order \
         (scripts/error-codes.py writes it)"
    );
}

#[test]
fn every_listed_code_is_in_the_catalogue_and_every_code_is_listed() {
    let spec = spec();
    let mut listed = BTreeSet::new();
    for code in strings(&spec["x-common-error-codes"]) {
        listed.insert(code);
    }
    let paths = spec["paths"].as_mapping().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for method in ["get", "put", "post", "delete", "patch"] {
            let operation = &item[method];
            if operation.is_null() {
                continue;
            }
            operations += 1;
            let codes = &operation["x-error-codes"];
            assert!(
                codes.is_sequence(),
                "{method} {path:?} has no x-error-codes list"
            );
            for code in strings(codes) {
                assert!(
                    ErrorCode::parse(&code).is_some(),
                    "{method} {path:?} lists {code}, which is not in the catalogue"
                );
                listed.insert(code);
            }
        }
    }
    assert!(operations > 40, "only {operations} operations found");
    for code in strings(&spec["x-unanswered-error-codes"]) {
        assert!(
            ErrorCode::parse(&code).is_some(),
            "x-unanswered-error-codes lists {code}, which is not in the catalogue"
        );
        assert!(
            !listed.contains(&code),
            "{code} is listed as unanswered, yet an operation (or the common list) answers it"
        );
        listed.insert(code);
    }
    let unlisted: Vec<&str> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !listed.contains(*c))
        .collect();
    assert!(
        unlisted.is_empty(),
        "codes of the catalogue no operation lists: {unlisted:?}"
    );
}
