//! The federation's union tree over HTTP: create a union, edit it, show it, list and search a
//! subtree. Managers write; every admin reads their own subtree.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use zhijian_domain::credit_code::CreditCode;
use zhijian_domain::deadline::ReviewHours;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::UnionId;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::region::RegionCode;
use zhijian_domain::routing::UnionKind;
use zhijian_domain::union_admin::{
    NameQuery, UnionDraft, UnionEdit, UnionName, parse_review_hours,
};
use zhijian_infra::store::idempotency::Answer;
use zhijian_infra::store::union_admin::{UnionDetail, UnionFilter};
use zhijian_infra::usecases::unions;

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::error::mapping::unions::union_rule;
use crate::json;
use crate::pagination::{decode_number_cursor, encode_number_cursor, page_size};
use crate::startup::AppState;
use crate::views::union::{AdminUnionView, admin_union_view};

/// Review hours in a request, Beijing time, `HH:MM`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewHoursRequest {
    /// Opening.
    pub opens: String,
    /// Cut-off.
    pub cutoff: String,
    /// Closing.
    pub closes: String,
}

impl ReviewHoursRequest {
    fn parse(&self) -> Result<ReviewHours, ApiError> {
        parse_review_hours(&self.opens, &self.cutoff, &self.closes).map_err(union_rule)
    }
}

/// Body of `POST /v1/admin/unions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUnionRequest {
    /// The federation it goes under.
    pub parent_id: i64,
    /// Official name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// The region it is of.
    pub region_code: String,
    /// A joint union's 片区: townships and villages.
    #[serde(default)]
    pub coverage: Option<Vec<String>>,
    /// An industry federation's occupation groups.
    #[serde(default)]
    pub occupations: Option<Vec<String>>,
    /// An enterprise union's employer.
    #[serde(default)]
    pub credit_code: Option<String>,
    /// Review hours; 09:00–18:00 with a 16:00 cut-off when absent.
    #[serde(default)]
    pub review_hours: Option<ReviewHoursRequest>,
}

fn invalid(field: &'static str) -> impl Fn(&dyn HasCode) -> ApiError {
    move |e| ApiError::invalid(e.error_code(), e.message(), field)
}

/// A parse error with a code and a message.
trait HasCode {
    fn error_code(&self) -> ErrorCode;
    fn message(&self) -> String;
}

macro_rules! has_code {
    ($($t:ty),+) => {$(
        impl HasCode for $t {
            fn error_code(&self) -> ErrorCode { self.code() }
            fn message(&self) -> String { self.to_string() }
        }
    )+};
}
has_code!(
    zhijian_domain::region::RegionCodeError,
    zhijian_domain::credit_code::CreditCodeError,
    zhijian_domain::vocab::UnknownValue
);

fn regions(codes: &[String], field: &'static str) -> Result<Vec<RegionCode>, ApiError> {
    codes
        .iter()
        .map(|c| RegionCode::parse(c).map_err(|e| invalid(field)(&e)))
        .collect()
}

fn occupations(groups: &[String]) -> Result<Vec<OccupationGroup>, ApiError> {
    groups
        .iter()
        .map(|g| OccupationGroup::parse(g).map_err(|e| invalid("occupations")(&e)))
        .collect()
}

fn union_id(id: i64, field: &'static str) -> Result<UnionId, ApiError> {
    if id > 0 {
        Ok(UnionId::new(id))
    } else {
        Err(ApiError::invalid(
            ErrorCode::InvalidUnionId,
            "工会编号应为正整数",
            field,
        ))
    }
}

impl CreateUnionRequest {
    fn parse(&self) -> Result<(UnionId, UnionDraft), ApiError> {
        let draft = UnionDraft {
            name: UnionName::parse(&self.name).map_err(union_rule)?,
            kind: UnionKind::parse(&self.kind).map_err(|e| invalid("kind")(&e))?,
            region: RegionCode::parse(&self.region_code).map_err(|e| invalid("region_code")(&e))?,
            coverage: regions(self.coverage.as_deref().unwrap_or_default(), "coverage")?,
            occupations: occupations(self.occupations.as_deref().unwrap_or_default())?,
            credit_code: (self.credit_code.as_deref())
                .map(CreditCode::parse)
                .transpose()
                .map_err(|e| invalid("credit_code")(&e))?,
            review_hours: match &self.review_hours {
                Some(hours) => hours.parse()?,
                None => ReviewHours::DEFAULT,
            },
        };
        Ok((union_id(self.parent_id, "parent_id")?, draft))
    }
}

fn created(detail: &UnionDetail) -> Result<Answer, String> {
    let view = admin_union_view(detail).map_err(|e| e.to_string())?;
    Ok((201, serde_json::to_value(view).map_err(|e| e.to_string())?))
}

/// `POST /v1/admin/unions`: a child union under a federation of the manager's subtree; 201
/// with the union (the first answer again for a retried `Idempotency-Key`).
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: CreateUnionRequest = json::parse_body(&req, &body)?;
    let actor = admin.actor()?;
    let key = json::idempotency_key(&req, format!("union:{}", actor.admin_id), &body)?;
    let (parent, draft) = request.parse()?;
    let answer = unions::create_union(&state.services, actor, parent, draft, key, created).await?;
    json::idempotent_response(Ok(answer))
}

/// Body of `PATCH /v1/admin/unions/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditUnionRequest {
    /// The version the manager saw.
    pub version: i32,
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// New review hours.
    #[serde(default)]
    pub review_hours: Option<ReviewHoursRequest>,
    /// A new coverage list (joint unions); empty: its own region.
    #[serde(default)]
    pub coverage: Option<Vec<String>>,
    /// New occupation groups (industry federations).
    #[serde(default)]
    pub occupations: Option<Vec<String>>,
    /// Whether it takes applications.
    #[serde(default)]
    pub accepting: Option<bool>,
}

impl EditUnionRequest {
    fn parse(&self) -> Result<UnionEdit, ApiError> {
        Ok(UnionEdit {
            name: self
                .name
                .as_deref()
                .map(UnionName::parse)
                .transpose()
                .map_err(union_rule)?,
            review_hours: self.review_hours.as_ref().map(|h| h.parse()).transpose()?,
            coverage: self
                .coverage
                .as_deref()
                .map(|c| regions(c, "coverage"))
                .transpose()?,
            occupations: self.occupations.as_deref().map(occupations).transpose()?,
            accepting: self.accepting,
        })
    }
}

fn path_id(path: &str) -> Result<UnionId, ApiError> {
    let id = (!path.is_empty() && path.bytes().all(|b| b.is_ascii_digit()))
        .then(|| path.parse::<i64>().ok())
        .flatten()
        .unwrap_or(0);
    union_id(id, "id")
}

/// `PATCH /v1/admin/unions/{id}`: rename, review hours, coverage, occupation groups, or
/// whether it takes applications; conditional on `version`.
pub async fn edit(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<EditUnionRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path)?;
    let edit = body.parse()?;
    let actor = admin.actor()?;
    let detail = unions::edit_union(&state.services, actor, id, body.version, edit).await?;
    Ok(HttpResponse::Ok().json(admin_union_view(&detail)?))
}

/// `GET /v1/admin/unions/{id}`: a union of the admin's subtree.
pub async fn detail(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path)?;
    let scope = admin.actor()?.union_path;
    let detail = unions::show_union(&state.services, scope, id).await?;
    Ok(HttpResponse::Ok().json(admin_union_view(&detail)?))
}

/// Query of `GET /v1/admin/unions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnionListQuery {
    /// Only the children of this union.
    pub parent_id: Option<String>,
    /// A name search (at least two characters).
    pub q: Option<String>,
    /// Only unions of (or covering) a region inside this one.
    pub region: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
}

impl UnionListQuery {
    fn parse(&self) -> Result<UnionFilter, ApiError> {
        let name = self.q.as_deref().map(NameQuery::parse).transpose();
        let name = name
            .map_err(|e| ApiError::invalid(ErrorCode::InvalidQueryParameter, e.to_string(), "q"))?;
        let parent = self.parent_id.as_deref().map(|p| {
            path_id(p).map_err(|_| {
                ApiError::invalid(ErrorCode::InvalidUnionId, "工会编号应为正整数", "parent_id")
            })
        });
        Ok(UnionFilter {
            parent: parent.transpose()?,
            name,
            region: (self.region.as_deref())
                .map(|r| RegionCode::parse(r).map_err(|e| invalid("region")(&e)))
                .transpose()?,
            after: self
                .cursor
                .as_deref()
                .map(decode_number_cursor)
                .transpose()?,
            limit: page_size(self.limit)?,
        })
    }
}

/// A page of unions.
#[derive(Debug, serde::Serialize)]
pub struct UnionPageView {
    /// By id.
    pub items: Vec<AdminUnionView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `GET /v1/admin/unions`: the children of a union (the admin's own by default), or a name or
/// region search over the admin's subtree.
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<UnionListQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = query.parse()?;
    let scope = admin.actor()?.union_path;
    let page = unions::list_unions(&state.services, scope, filter).await?;
    let next_cursor = (page.more)
        .then(|| page.items.last())
        .flatten()
        .map(|u| encode_number_cursor(u.union.id));
    let items = page
        .items
        .iter()
        .map(admin_union_view)
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(UnionPageView { items, next_cursor }))
}
