//! Reference data for the forms and cards: the controlled list of occupation groups, and the
//! public card of a union.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::UnionId;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_infra::usecases::reference::{self, UnionCard};

use crate::error::ApiError;
use crate::startup::AppState;

/// One occupation group of the controlled list.
#[derive(Debug, Serialize)]
pub struct OccupationView {
    /// Stable snake_case code sent back in applications.
    pub code: &'static str,
    /// Chinese label shown to the worker.
    pub label: &'static str,
    /// One of the four key groups of new forms of employment.
    pub key_group: bool,
}

/// Body of `GET /v1/occupations`.
#[derive(Debug, Serialize)]
pub struct OccupationListView {
    /// Every group, in display order.
    pub items: Vec<OccupationView>,
}

/// A union's region on its card.
#[derive(Debug, Serialize)]
pub struct UnionRegionView {
    /// Statistical code.
    pub code: String,
    /// Official name.
    pub name: String,
}

/// A union's parent on its card.
#[derive(Debug, Serialize)]
pub struct UnionParentView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// Body of `GET /v1/unions/{id}`: what anyone may know about a union.
#[derive(Debug, Serialize)]
pub struct UnionCardView {
    /// Id.
    pub id: i64,
    /// Official name.
    pub name: String,
    /// `federation`, `enterprise`, `industry_federation`, `joint` or `pool`.
    pub kind: &'static str,
    /// The kind in Chinese.
    pub kind_label: &'static str,
    /// The region it serves.
    pub region: UnionRegionView,
    /// The union above; absent for a root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<UnionParentView>,
    /// Whether it currently takes applications.
    pub accepting: bool,
}

/// `GET /v1/occupations`
pub async fn list_occupations() -> HttpResponse {
    let items = OccupationGroup::ALL
        .iter()
        .map(|group| OccupationView {
            code: group.as_str(),
            label: group.label_zh(),
            key_group: group.is_key_group(),
        })
        .collect();
    HttpResponse::Ok().json(OccupationListView { items })
}

/// Parses the `{id}` path segment: a positive decimal integer.
fn parse_union_id(id: &str) -> Result<UnionId, ApiError> {
    let invalid = || ApiError::invalid(ErrorCode::InvalidUnionId, "工会编号应为正整数", "id");
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match id.parse::<i64>() {
        Ok(n) if n > 0 => Ok(UnionId::new(n)),
        _ => Err(invalid()),
    }
}

impl From<UnionCard> for UnionCardView {
    fn from(card: UnionCard) -> Self {
        Self {
            id: card.union.id,
            name: card.union.name,
            kind: card.kind.as_str(),
            kind_label: card.kind.label_zh(),
            region: UnionRegionView {
                code: card.region.code,
                name: card.region.name,
            },
            parent: card.parent.map(|p| UnionParentView {
                id: p.id,
                name: p.name,
            }),
            accepting: card.union.accepting,
        }
    }
}

/// `GET /v1/unions/{id}`
pub async fn get_union(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_union_id(&path)?;
    let card = reference::union_card(&state.services, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(UnionCardView::from(card)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_union_id_is_a_positive_decimal_integer() {
        assert_eq!(parse_union_id("42").map(UnionId::get).ok(), Some(42));
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "4x",
            " 4",
            "1.0",
            "99999999999999999999",
        ] {
            let error = parse_union_id(bad).unwrap_err();
            assert_eq!(error.body().code, "invalid_union_id", "{bad:?}");
            assert_eq!(error.body().field.as_deref(), Some("id"));
        }
    }
}
