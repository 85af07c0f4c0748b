//! The API's extractors: the framework's, with the API's error as their
//! rejection, so a bad body, query or id is answered in the one JSON shape
//! without each handler converting it.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path};
use axum::http::request::Parts;

use crate::http::error::ApiError;

/// A JSON body (`Content-Type: application/json`); a malformed one is a 400,
/// a wrong shape a 422 naming the field, another content type a 415.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A query string; a malformed one is a 400.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters; one that does not parse is a 422 naming the path.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// A numeric id as the last path parameter (`/deployments/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id): Path<i64> = Path::from_request_parts(parts, state)
            .await
            .map_err(|_: PathRejection| ApiError::invalid("id", "ids are whole numbers"))?;
        Ok(Id(id))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::Invalid {
            field: Some("path".into()),
            message: rejection.body_text(),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest {
            message: format!("invalid query string: {}", rejection.body_text()),
        }
    }
}

/// A query parameter that must be a whole number, e.g. a page's `limit`
/// (whose range the service checks).
pub fn whole_number(field: &'static str, text: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::invalid(field, format!("{field} must be a whole number")))
}

/// A `cursor` query parameter: the id of the last row of the previous page.
pub fn id_cursor(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|c| *c > 0)
        .ok_or_else(|| ApiError::invalid("cursor", "cursor must be a positive whole number"))
}
