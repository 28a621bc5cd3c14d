//! Every route of the API, in one table.
//!
//! The table is the single source of truth for what the server answers: it registers the
//! routes, and the contract test compares it with `openapi.yaml` in both directions.

use actix_web::http::Method;
use actix_web::{Route, web};

pub mod admin_admins;
pub mod admin_applications;
pub mod admin_audit;
pub mod admin_calendar;
pub mod admin_coverage;
pub mod admin_imports;
pub mod admin_me;
pub mod admin_partners;
pub mod admin_stations;
pub mod admin_stats;
pub mod admin_transfers;
pub mod admin_union_changes;
pub mod admin_unions;
pub mod admin_workforce;
pub mod applications;
pub mod auth;
pub mod docs;
pub mod health;
pub mod member_export;
pub mod member_lifecycle;
pub mod membership;
pub mod membership_claim;
pub mod oauth;
pub mod partner;
pub mod partner_consents;
pub mod partner_webhooks;
pub mod privacy;
pub mod reference;
pub mod referrals;
pub mod regions;
pub mod second_factor;
pub mod stations;
pub mod transfers;

/// One row of the route table.
pub struct RouteDef {
    /// HTTP method.
    pub method: Method,
    /// actix path pattern, in OpenAPI's `{param}` syntax.
    pub path: &'static str,
    route: Route,
}

fn def(method: Method, path: &'static str, route: Route) -> RouteDef {
    RouteDef {
        method,
        path,
        route,
    }
}

/// The route table.
pub fn table() -> Vec<RouteDef> {
    vec![
        def(Method::GET, "/healthz", web::get().to(health::healthz)),
        def(Method::GET, "/readyz", web::get().to(health::readyz)),
        def(Method::GET, "/metrics", web::get().to(health::metrics)),
        def(
            Method::GET,
            "/openapi.yaml",
            web::get().to(docs::openapi_yaml),
        ),
        def(Method::GET, "/docs", web::get().to(docs::docs_page)),
        def(
            Method::GET,
            "/v1/regions/{code}",
            web::get().to(regions::get_region),
        ),
        def(
            Method::GET,
            "/v1/regions/{code}/children",
            web::get().to(regions::list_children),
        ),
        def(
            Method::GET,
            "/v1/occupations",
            web::get().to(reference::list_occupations),
        ),
        def(
            Method::GET,
            "/v1/unions/{id}",
            web::get().to(reference::get_union),
        ),
        def(
            Method::POST,
            "/v1/auth/wechat",
            web::post().to(auth::wechat_login),
        ),
        def(
            Method::POST,
            "/v1/auth/sms-codes",
            web::post().to(auth::send_sms_code),
        ),
        def(
            Method::POST,
            "/v1/auth/phone",
            web::post().to(auth::phone_login),
        ),
        def(
            Method::POST,
            "/v1/auth/wechat-phone",
            web::post().to(auth::bind_wechat_phone),
        ),
        def(
            Method::POST,
            "/v1/auth/refresh",
            web::post().to(auth::refresh),
        ),
        def(
            Method::POST,
            "/v1/auth/logout",
            web::post().to(auth::logout),
        ),
        def(Method::GET, "/v1/me", web::get().to(auth::me)),
        def(
            Method::POST,
            "/v1/me/phone",
            web::post().to(auth::bind_sms_phone),
        ),
        // Partner platforms (issue 15): clients, tokens, the worker's consents, intake,
        // verification.
        def(
            Method::POST,
            "/v1/oauth/token",
            web::post().to(oauth::token),
        ),
        def(
            Method::POST,
            "/v1/admin/partners",
            web::post().to(admin_partners::create),
        ),
        def(
            Method::GET,
            "/v1/admin/partners",
            web::get().to(admin_partners::list),
        ),
        def(
            Method::GET,
            "/v1/admin/partners/{id}",
            web::get().to(admin_partners::show),
        ),
        def(
            Method::POST,
            "/v1/admin/partners/{id}/rotate-secret",
            web::post().to(admin_partners::rotate_secret),
        ),
        def(
            Method::POST,
            "/v1/admin/partners/{id}/disable",
            web::post().to(admin_partners::disable),
        ),
        def(
            Method::POST,
            "/v1/admin/partners/{id}/enable",
            web::post().to(admin_partners::enable),
        ),
        def(
            Method::POST,
            "/v1/me/consents",
            web::post().to(partner_consents::grant),
        ),
        def(
            Method::GET,
            "/v1/me/consents",
            web::get().to(partner_consents::list),
        ),
        def(
            Method::POST,
            "/v1/me/consents/{id}/withdraw",
            web::post().to(partner_consents::withdraw),
        ),
        def(
            Method::POST,
            "/v1/partner/consent-requests",
            web::post().to(partner::create_consent_request),
        ),
        def(
            Method::POST,
            "/v1/partner/applications",
            web::post().to(partner::submit_application),
        ),
        def(
            Method::GET,
            "/v1/partner/applications/{id}",
            web::get().to(partner::get_application),
        ),
        def(
            Method::POST,
            "/v1/partner/members/verify",
            web::post().to(partner::verify_member),
        ),
        def(
            Method::POST,
            "/v1/partner/webhooks/endpoints",
            web::post().to(partner_webhooks::create_endpoint),
        ),
        def(
            Method::GET,
            "/v1/partner/webhooks/endpoints",
            web::get().to(partner_webhooks::list_endpoints),
        ),
        def(
            Method::GET,
            "/v1/partner/webhooks/endpoints/{id}",
            web::get().to(partner_webhooks::get_endpoint),
        ),
        def(
            Method::POST,
            "/v1/partner/webhooks/endpoints/{id}/rotate-secret",
            web::post().to(partner_webhooks::rotate_secret),
        ),
        def(
            Method::POST,
            "/v1/partner/webhooks/endpoints/{id}/disable",
            web::post().to(partner_webhooks::disable_endpoint),
        ),
        def(
            Method::GET,
            "/v1/partner/webhooks/deliveries",
            web::get().to(partner_webhooks::list_deliveries),
        ),
        def(
            Method::POST,
            "/v1/partner/webhooks/deliveries/{id}/redeliver",
            web::post().to(partner_webhooks::redeliver),
        ),
        def(Method::GET, "/v1/me/data", web::get().to(privacy::my_data)),
        def(
            Method::GET,
            "/v1/me/privacy-consent",
            web::get().to(privacy::get_privacy_consent),
        ),
        def(
            Method::PUT,
            "/v1/me/privacy-consent",
            web::put().to(privacy::put_privacy_consent),
        ),
        def(
            Method::POST,
            "/v1/me/cancel",
            web::post().to(privacy::cancel),
        ),
        def(
            Method::POST,
            "/v1/admin/auth/login",
            web::post().to(auth::admin_login),
        ),
        def(
            Method::POST,
            "/v1/admin/auth/logout",
            web::post().to(auth::admin_logout),
        ),
        // The signed-in admin's own account, and a manager's admins (issue 13).
        def(Method::GET, "/v1/admin/me", web::get().to(admin_me::me)),
        def(
            Method::POST,
            "/v1/admin/me/password",
            web::post().to(admin_me::change_password),
        ),
        def(
            Method::POST,
            "/v1/admin/admins",
            web::post().to(admin_admins::create),
        ),
        def(
            Method::GET,
            "/v1/admin/admins",
            web::get().to(admin_admins::list),
        ),
        def(
            Method::GET,
            "/v1/admin/admins/{id}",
            web::get().to(admin_admins::show),
        ),
        def(
            Method::PATCH,
            "/v1/admin/admins/{id}",
            web::patch().to(admin_admins::update),
        ),
        def(
            Method::POST,
            "/v1/admin/admins/{id}/disable",
            web::post().to(admin_admins::disable),
        ),
        def(
            Method::POST,
            "/v1/admin/admins/{id}/enable",
            web::post().to(admin_admins::enable),
        ),
        def(
            Method::POST,
            "/v1/admin/admins/{id}/reset-password",
            web::post().to(admin_admins::reset_password),
        ),
        def(
            Method::POST,
            "/v1/admin/auth/second-factor",
            web::post().to(second_factor::complete_login),
        ),
        def(
            Method::POST,
            "/v1/admin/me/second-factor",
            web::post().to(second_factor::start),
        ),
        def(
            Method::DELETE,
            "/v1/admin/me/second-factor",
            web::delete().to(second_factor::remove),
        ),
        def(
            Method::POST,
            "/v1/admin/me/second-factor/confirm",
            web::post().to(second_factor::confirm),
        ),
        def(
            Method::POST,
            "/v1/applications",
            web::post().to(applications::submit),
        ),
        def(
            Method::GET,
            "/v1/applications/mine",
            web::get().to(applications::mine),
        ),
        def(
            Method::GET,
            "/v1/applications/{id}",
            web::get().to(applications::get),
        ),
        def(
            Method::PUT,
            "/v1/applications/{id}",
            web::put().to(applications::correct),
        ),
        def(
            Method::POST,
            "/v1/applications/{id}/withdraw",
            web::post().to(applications::withdraw),
        ),
        def(
            Method::GET,
            "/v1/membership",
            web::get().to(membership::get),
        ),
        def(
            Method::GET,
            "/v1/membership/card",
            web::get().to(membership::card),
        ),
        def(
            Method::POST,
            "/v1/cards/verify",
            web::post().to(membership::verify),
        ),
        def(
            Method::GET,
            "/v1/admin/applications",
            web::get().to(admin_applications::queue),
        ),
        def(
            Method::POST,
            "/v1/admin/unions",
            web::post().to(admin_unions::create),
        ),
        def(
            Method::GET,
            "/v1/admin/unions",
            web::get().to(admin_unions::list),
        ),
        def(
            Method::GET,
            "/v1/admin/unions/{id}",
            web::get().to(admin_unions::detail),
        ),
        def(
            Method::PATCH,
            "/v1/admin/unions/{id}",
            web::patch().to(admin_unions::edit),
        ),
        def(
            Method::GET,
            "/v1/admin/stats/review",
            web::get().to(admin_stats::review),
        ),
        def(
            Method::GET,
            "/v1/admin/stats/overview",
            web::get().to(admin_coverage::overview),
        ),
        def(
            Method::GET,
            "/v1/admin/stats/quarterly",
            web::get().to(admin_coverage::quarterly),
        ),
        def(
            Method::POST,
            "/v1/admin/unions/{id}/close",
            web::post().to(admin_union_changes::close),
        ),
        def(
            Method::POST,
            "/v1/admin/unions/{id}/move",
            web::post().to(admin_union_changes::move_union),
        ),
        def(
            Method::GET,
            "/v1/admin/audit",
            web::get().to(admin_audit::list),
        ),
        // The calendar: the literal `status` before `{year}`.
        def(
            Method::GET,
            "/v1/admin/calendar/status",
            web::get().to(admin_calendar::status),
        ),
        def(
            Method::GET,
            "/v1/admin/calendar/{year}",
            web::get().to(admin_calendar::get_year),
        ),
        def(
            Method::PUT,
            "/v1/admin/calendar/{year}",
            web::put().to(admin_calendar::replace_year),
        ),
        def(
            Method::GET,
            "/v1/admin/unions/{id}/workforce/{year}",
            web::get().to(admin_workforce::get),
        ),
        def(
            Method::PUT,
            "/v1/admin/unions/{id}/workforce/{year}",
            web::put().to(admin_workforce::set),
        ),
        def(
            Method::POST,
            "/v1/admin/workforce",
            web::post().to(admin_workforce::import),
        ),
        def(
            Method::GET,
            "/v1/admin/pool",
            web::get().to(admin_applications::pool),
        ),
        def(
            Method::POST,
            "/v1/admin/applications/batch-approve",
            web::post().to(admin_applications::batch_approve),
        ),
        def(
            Method::GET,
            "/v1/admin/applications/{id}",
            web::get().to(admin_applications::detail),
        ),
        def(
            Method::POST,
            "/v1/admin/applications/{id}/approve",
            web::post().to(admin_applications::approve),
        ),
        def(
            Method::POST,
            "/v1/admin/applications/{id}/reject",
            web::post().to(admin_applications::reject),
        ),
        def(
            Method::POST,
            "/v1/admin/applications/{id}/return",
            web::post().to(admin_applications::return_for_correction),
        ),
        def(
            Method::POST,
            "/v1/admin/applications/{id}/forward",
            web::post().to(admin_applications::forward),
        ),
        def(
            Method::POST,
            "/v1/admin/applications/{id}/assign",
            web::post().to(admin_applications::assign),
        ),
        // Transfers and the membership lifecycle (literal segments before `{id}`).
        def(
            Method::POST,
            "/v1/transfers",
            web::post().to(transfers::request),
        ),
        def(
            Method::GET,
            "/v1/transfers/mine",
            web::get().to(transfers::mine),
        ),
        def(
            Method::POST,
            "/v1/transfers/{id}/cancel",
            web::post().to(transfers::cancel),
        ),
        def(
            Method::GET,
            "/v1/membership/affiliations",
            web::get().to(member_lifecycle::my_affiliations),
        ),
        def(
            Method::GET,
            "/v1/membership/referral",
            web::get().to(referrals::my_code),
        ),
        def(
            Method::GET,
            "/v1/membership/referrals",
            web::get().to(referrals::my_referrals),
        ),
        def(
            Method::POST,
            "/v1/membership/withdraw",
            web::post().to(member_lifecycle::withdraw),
        ),
        def(
            Method::POST,
            "/v1/membership/claim",
            web::post().to(membership_claim::claim),
        ),
        def(
            Method::GET,
            "/v1/admin/transfers",
            web::get().to(admin_transfers::list),
        ),
        def(
            Method::GET,
            "/v1/admin/transfers/{id}",
            web::get().to(admin_transfers::detail),
        ),
        def(
            Method::POST,
            "/v1/admin/transfers/{id}/release",
            web::post().to(admin_transfers::release),
        ),
        def(
            Method::POST,
            "/v1/admin/transfers/{id}/accept",
            web::post().to(admin_transfers::accept),
        ),
        def(
            Method::POST,
            "/v1/admin/transfers/{id}/reject",
            web::post().to(admin_transfers::reject),
        ),
        def(
            Method::GET,
            "/v1/admin/members",
            web::get().to(member_lifecycle::list),
        ),
        def(
            Method::GET,
            "/v1/admin/members/export",
            web::get().to(member_export::export),
        ),
        def(
            Method::GET,
            "/v1/admin/members/{id}",
            web::get().to(member_lifecycle::detail),
        ),
        def(
            Method::POST,
            "/v1/admin/members/{id}/retain",
            web::post().to(member_lifecycle::retain),
        ),
        def(
            Method::POST,
            "/v1/admin/members/{id}/reactivate",
            web::post().to(member_lifecycle::reactivate),
        ),
        def(
            Method::POST,
            "/v1/admin/members/{id}/expel",
            web::post().to(member_lifecycle::expel),
        ),
        def(
            Method::POST,
            "/v1/admin/members/{id}/deceased",
            web::post().to(member_lifecycle::deceased),
        ),
        def(
            Method::POST,
            "/v1/admin/imports",
            web::post().to(admin_imports::start),
        ),
        def(
            Method::GET,
            "/v1/admin/imports/templates/{kind}",
            web::get().to(admin_imports::template),
        ),
        def(
            Method::GET,
            "/v1/admin/imports/{id}",
            web::get().to(admin_imports::status),
        ),
        def(
            Method::GET,
            "/v1/admin/imports/{id}/report.csv",
            web::get().to(admin_imports::report),
        ),
        def(
            Method::POST,
            "/v1/admin/imports/{id}/commit",
            web::post().to(admin_imports::commit),
        ),
        def(
            Method::GET,
            "/v1/stations/nearby",
            web::get().to(stations::nearby),
        ),
        def(
            Method::GET,
            "/v1/stations/{id}",
            web::get().to(stations::get),
        ),
        def(
            Method::GET,
            "/v1/membership/benefits",
            web::get().to(stations::my_benefits),
        ),
        def(
            Method::POST,
            "/v1/admin/stations",
            web::post().to(admin_stations::create),
        ),
        def(
            Method::PUT,
            "/v1/admin/stations/{id}",
            web::put().to(admin_stations::edit),
        ),
        def(
            Method::POST,
            "/v1/admin/stations/{id}/close",
            web::post().to(admin_stations::close),
        ),
        def(
            Method::GET,
            "/v1/admin/stations/{id}/redemptions",
            web::get().to(admin_stations::redemptions),
        ),
        def(
            Method::GET,
            "/v1/admin/benefits",
            web::get().to(admin_stations::list_benefits),
        ),
        def(
            Method::POST,
            "/v1/admin/benefits",
            web::post().to(admin_stations::create_benefit),
        ),
        def(
            Method::POST,
            "/v1/admin/benefits/redeem",
            web::post().to(admin_stations::redeem),
        ),
        def(
            Method::POST,
            "/v1/admin/stations/{id}/staff",
            web::post().to(admin_stations::create_staff),
        ),
        def(
            Method::PATCH,
            "/v1/admin/benefits/{id}",
            web::patch().to(admin_stations::edit_benefit),
        ),
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
        let resource = routes
            .into_iter()
            .fold(web::resource(path), |resource, route| resource.route(route));
        cfg.service(resource);
    }
}
