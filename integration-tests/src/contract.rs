//! The contract: `openapi.yaml`, loaded once, and validation of real responses against it.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// The parsed contract.
pub struct Spec {
    /// The document as JSON.
    pub doc: Value,
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

/// The contract of this checkout.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(crate::database::repo_root().join("openapi.yaml"))
            .expect("read openapi.yaml");
        let doc: Value = serde_yaml::from_str(&text).expect("openapi.yaml parses");
        Spec {
            doc,
            validators: Mutex::new(HashMap::new()),
        }
    })
}

impl Spec {
    /// Every `(METHOD, path template)` the contract describes.
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut ops = Vec::new();
        if let Some(paths) = self.doc["paths"].as_object() {
            for (path, item) in paths {
                for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
                    if item.get(method).is_some() {
                        ops.push((method.to_uppercase(), path.clone()));
                    }
                }
            }
        }
        ops.sort();
        ops
    }

    /// The path template matching a concrete path (`/v1/regions/500237` → `/v1/regions/{code}`),
    /// preferring literal segments over parameters.
    pub fn template_for(&self, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or(path);
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut best: Option<(usize, String)> = None;
        for template in self.doc["paths"].as_object()?.keys() {
            let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut literals = 0;
            let matches = parts.iter().zip(&segments).all(|(t, s)| {
                if t.starts_with('{') {
                    true
                } else {
                    literals += 1;
                    t == s
                }
            });
            if matches && best.as_ref().is_none_or(|(n, _)| literals > *n) {
                best = Some((literals, template.clone()));
            }
        }
        best.map(|(_, t)| t)
    }

    /// Checks a JSON response body against the schema the contract gives for this operation
    /// and status. Panics with the violations when it does not match, or when the contract
    /// does not describe the operation or status.
    pub fn assert_response(&self, method: &str, path: &str, status: u16, body: &Value) {
        let template = self
            .template_for(path)
            .unwrap_or_else(|| panic!("openapi.yaml has no path for {method} {path}"));
        let operation = &self.doc["paths"][&template][method.to_lowercase()];
        assert!(
            operation.is_object(),
            "openapi.yaml has no {method} {template}"
        );
        let responses = &operation["responses"];
        let response = responses
            .get(status.to_string())
            .or_else(|| responses.get(format!("{}XX", status / 100)))
            .or_else(|| responses.get("default"))
            .unwrap_or_else(|| {
                panic!("openapi.yaml does not list status {status} for {method} {template}")
            });
        let response = self.resolve(response);
        if status >= 400 {
            self.assert_error_code_listed(method, &template, status, body);
        }
        let Some(schema) = response["content"]["application/json"]["schema"].as_object() else {
            panic!("openapi.yaml gives no JSON schema for {status} of {method} {template}");
        };
        let key = format!("{method} {template} {status}");
        let validator = {
            let mut cache = self.validators.lock().expect("validator cache");
            cache
                .entry(key.clone())
                .or_insert_with(|| {
                    let mut root = Value::Object(schema.clone());
                    root["components"] = self.doc["components"].clone();
                    std::sync::Arc::new(
                        jsonschema::draft202012::new(&root)
                            .unwrap_or_else(|e| panic!("schema for {key} is invalid: {e}")),
                    )
                })
                .clone()
        };
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "response of {key} does not match openapi.yaml:\n  {}\nbody: {body:#}",
            errors.join("\n  ")
        );
    }

    /// The codes an operation declares (`x-error-codes`), and those every operation may answer
    /// (`x-common-error-codes` at the top of the document).
    pub fn error_codes(&self, method: &str, template: &str) -> Vec<String> {
        let listed = |value: &Value| -> Vec<String> {
            value
                .as_array()
                .map(|codes| {
                    codes
                        .iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut codes = listed(&self.doc["x-common-error-codes"]);
        codes.extend(listed(
            &self.doc["paths"][template][method.to_lowercase()]["x-error-codes"],
        ));
        codes
    }

    /// An error's `code` must be one the operation declares. With `ZHIJIAN_RECORD_ERROR_CODES`
    /// set to a file, every answered code is appended to it instead (`METHOD template status
    /// code` per line) — `scripts/error-codes.py` writes them into `openapi.yaml`.
    fn assert_error_code_listed(&self, method: &str, template: &str, status: u16, body: &Value) {
        let Some(code) = body["code"].as_str() else {
            return; // the schema check reports the missing code
        };
        if let Some(file) = std::env::var_os("ZHIJIAN_RECORD_ERROR_CODES") {
            use std::io::Write as _;
            let line = format!("{} {template} {status} {code}\n", method.to_uppercase());
            if let Ok(mut out) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
            {
                let _ = out.write_all(line.as_bytes());
            }
            return;
        }
        let codes = self.error_codes(method, template);
        assert!(
            codes.iter().any(|c| c == code),
            "{method} {template} answered {status} {code}, which openapi.yaml does not list in its \
             x-error-codes (nor x-common-error-codes): {codes:?}"
        );
    }

    /// Follows a local `$ref` (`#/components/responses/Error`).
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value["$ref"].as_str() {
            Some(reference) => {
                let pointer = reference.trim_start_matches('#');
                self.doc
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling $ref {reference}"))
            }
            None => value,
        }
    }
}
