//! Every route of the API, in one table.
//!
//! The table is the single source of truth for what the server answers: it registers the
//! routes, and the contract test compares it with `openapi.yaml` in both directions.

use actix_web::http::Method;
use actix_web::{Route, web};

pub mod docs;
pub mod health;
pub mod regions;

/// One row of the route table.
pub struct RouteDef {
    /// HTTP method.
    pub method: Method,
    /// actix path pattern, in OpenAPI's `{param}` syntax.
    pub path: &'static str,
    route: Route,
}

fn def(method: Method, path: &'static str, route: Route) -> RouteDef {
    RouteDef { method, path, route }
}

/// The route table.
pub fn table() -> Vec<RouteDef> {
    vec![
        def(Method::GET, "/healthz", web::get().to(health::healthz)),
        def(Method::GET, "/readyz", web::get().to(health::readyz)),
        def(Method::GET, "/metrics", web::get().to(health::metrics)),
        def(Method::GET, "/openapi.yaml", web::get().to(docs::openapi_yaml)),
        def(Method::GET, "/docs", web::get().to(docs::docs_page)),
        def(Method::GET, "/v1/regions/{code}", web::get().to(regions::get_region)),
        def(Method::GET, "/v1/regions/{code}/children", web::get().to(regions::list_children)),
    ]
}

/// `(method, path)` of every route, for the contract test.
pub fn operations() -> Vec<(Method, &'static str)> {
    table().into_iter().map(|d| (d.method, d.path)).collect()
}

/// Registers the table, one `web::resource` per path so that a wrong method answers 405 with
/// `Allow` rather than 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut grouped: Vec<(&'static str, Vec<Route>)> = Vec::new();
    for def in table() {
        match grouped.iter_mut().find(|(path, _)| *path == def.path) {
            Some((_, routes)) => routes.push(def.route),
            None => grouped.push((def.path, vec![def.route])),
        }
    }
    for (path, routes) in grouped {
        let resource = routes.into_iter().fold(web::resource(path), |resource, route| resource.route(route));
        cfg.service(resource);
    }
}
