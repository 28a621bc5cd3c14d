//! The contract, as YAML for tools and as a self-contained HTML page for people.
//!
//! The page is rendered on the server from `openapi.yaml`: no script, no CDN, so it works on a
//! closed network.

use std::fmt::Write as _;

use actix_web::{HttpResponse, web};
use serde_json::Value;

use crate::startup::AppState;

/// The contract, embedded at build time.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

/// `GET /openapi.yaml`
pub async fn openapi_yaml() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml; charset=utf-8")
        .body(OPENAPI_YAML)
}

/// `GET /docs`
pub async fn docs_page(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(state.docs_html.clone())
}

/// Renders the contract as one HTML page.
pub fn render_html(spec: &Value) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let title = spec["info"]["title"].as_str().unwrap_or("API");
    let version = spec["info"]["version"].as_str().unwrap_or("");
    let _ = write!(
        html,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head><body>\
         <h1>{t} <small>{v}</small></h1><p class=\"desc\">{d}</p><p><a href=\"/openapi.yaml\">openapi.yaml</a></p>",
        t = escape(title),
        v = escape(version),
        d = escape(spec["info"]["description"].as_str().unwrap_or("")),
    );
    html.push_str("<h2>Operations</h2><nav><ul>");
    let operations = operations(spec);
    for (method, path, op) in &operations {
        let _ = write!(
            html,
            "<li><a href=\"#{id}\"><code class=\"m {ml}\">{m}</code> <code>{p}</code></a> {s}</li>",
            id = anchor(method, path),
            ml = method,
            m = method.to_uppercase(),
            p = escape(path),
            s = escape(op["summary"].as_str().unwrap_or("")),
        );
    }
    html.push_str("</ul></nav>");
    for (method, path, op) in &operations {
        render_operation(&mut html, method, path, op);
    }
    html.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = spec["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(
                html,
                "<h3 id=\"schema-{n}\">{n}</h3><pre>{}</pre>",
                escape(&pretty),
                n = escape(name)
            );
        }
    }
    html.push_str("</body></html>");
    html
}

fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut list = Vec::new();
    if let Some(paths) = spec["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "put", "post", "delete", "patch"] {
                if let Some(op) = item.get(method) {
                    list.push((method.to_owned(), path.clone(), op.clone()));
                }
            }
        }
    }
    list
}

fn render_operation(html: &mut String, method: &str, path: &str, op: &Value) {
    let _ = write!(
        html,
        "<section id=\"{id}\"><h3><code class=\"m {method}\">{m}</code> <code>{p}</code></h3><p>{s}</p><p class=\"desc\">{d}</p>",
        id = anchor(method, path),
        m = method.to_uppercase(),
        p = escape(path),
        s = escape(op["summary"].as_str().unwrap_or("")),
        d = escape(op["description"].as_str().unwrap_or("")),
    );
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        html.push_str("<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr>");
        for p in params {
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(p["name"].as_str().unwrap_or("")),
                escape(p["in"].as_str().unwrap_or("")),
                p["required"].as_bool().unwrap_or(false),
                schema_label(&p["schema"]),
                escape(p["description"].as_str().unwrap_or("")),
            );
        }
        html.push_str("</table>");
    }
    if let Some(content) = op["requestBody"]["content"].as_object() {
        for (media, body) in content {
            let _ = write!(
                html,
                "<p>Request body <code>{}</code>: {}</p>",
                escape(media),
                schema_label(&body["schema"])
            );
        }
    }
    if let Some(responses) = op["responses"].as_object() {
        html.push_str("<table><tr><th>status</th><th>description</th><th>body</th></tr>");
        for (status, response) in responses {
            let body = response["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|b| schema_label(&b["schema"]))
                .unwrap_or_default();
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(status),
                escape(response["description"].as_str().unwrap_or("")),
                body
            );
        }
        html.push_str("</table>");
    }
    html.push_str("</section>");
}

fn schema_label(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{n}\">{n}</a>", n = escape(name));
    }
    if let Some(kind) = schema["type"].as_str() {
        if kind == "array" {
            return format!("array of {}", schema_label(&schema["items"]));
        }
        return escape(kind);
    }
    String::new()
}

fn anchor(method: &str, path: &str) -> String {
    let slug: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{method}{slug}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}\
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace}pre{background:#f6f8fa;padding:.75rem;overflow:auto;font-size:.85rem}\
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}\
section{border-top:1px solid #eee;margin-top:1.5rem}.m{font-weight:bold;padding:0 .3rem;border-radius:3px;color:#fff;background:#666}\
.get{background:#2f7d32}.post{background:#1565c0}.put{background:#ef6c00}.delete{background:#c62828}.desc{white-space:pre-wrap}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_every_operation_of_the_contract_and_escapes_text() {
        let spec: Value = serde_yaml::from_str(OPENAPI_YAML).unwrap();
        let html = render_html(&spec);
        for (method, path, _) in operations(&spec) {
            assert!(
                html.contains(&format!("id=\"{}\"", anchor(&method, &path))),
                "{method} {path}"
            );
        }
        assert!(!html.contains("<script"));
        assert_eq!(
            escape("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}
