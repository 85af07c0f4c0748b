//! Every error under `/api` leaves as JSON in the one shape, with an honest
//! status — whatever layer produced it: a framework rejection answered in
//! plain text (a body over the limit, a path segment that is not UTF-8), or
//! a server function, which the framework always answers with 500.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

use crate::http::error::ApiError;

/// Error bodies read back are small; anything bigger is not ours to parse.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The largest request body an API call takes (`HOTSWAP_MAX_BODY_BYTES`).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

pub async fn json_errors(
    State(BodyLimit(limit)): State<BodyLimit>,
    request: Request,
    next: Next,
) -> Response {
    if !is_api(request.uri().path()) {
        return next.run(request).await;
    }
    let request = match refuse_nul(request, limit).await {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let response = next.run(request).await;
    // A form posted without JavaScript is sent back to its page, error or
    // not: that redirect stays as it is.
    if response.status().is_redirection() {
        return response;
    }
    if response.headers().contains_key(SERVER_FN_ERROR_HEADER) {
        return server_function_error(response).await;
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_ERROR_BODY)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .unwrap_or_default();
    let mut json = ApiError::from_status(status, text).into_response();
    // Keep what tells a client how to go on.
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            json.headers_mut().insert(name, value.clone());
        }
    }
    json
}

/// What a request without a credential, or a sign-in, may send: sign-in
/// forms, enrollments and the like are small.
const ANONYMOUS_BODY: usize = 64 * 1024;

fn carries_credential(request: &Request) -> bool {
    let headers = request.headers();
    headers.contains_key(header::AUTHORIZATION) || headers.contains_key(header::COOKIE)
}

/// No text in the API may hold a NUL character (PostgreSQL cannot store one,
/// and no name or comment needs it): refused at the edge, whether it comes in
/// the query, a form (`%00`) or JSON (`\u0000`).
async fn refuse_nul(request: Request, limit: usize) -> Result<Request, ApiError> {
    let refused = || ApiError::Invalid {
        field: None,
        message: "text may not contain NUL characters".into(),
    };
    let has_encoded_nul = |text: &[u8]| {
        text.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00"))
            || text.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"))
            || text.contains(&0)
    };
    if has_encoded_nul(request.uri().query().unwrap_or_default().as_bytes())
        || has_encoded_nul(request.uri().path().as_bytes())
    {
        return Err(refused());
    }
    // A body is buffered whole before anyone is known, so a request that
    // carries no credential, or signs in, gets a small one; a GET none.
    let limit =
        if request.uri().path().starts_with("/api/v1/auth/") || !carries_credential(&request) {
            limit.min(ANONYMOUS_BODY)
        } else {
            limit
        };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    let (parts, body) = request.into_parts();
    if parts.method == Method::GET || parts.method == Method::HEAD {
        return Ok(Request::from_parts(parts, Body::empty()));
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    if has_encoded_nul(&bytes) {
        return Err(refused());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// A server function's error body is already the API's shape (see
/// `app::error::AppError`); its status becomes the one the error names.
async fn server_function_error(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return ApiError::Internal(anyhow::anyhow!("an unreadable server function error"))
            .into_response();
    };
    let Ok(error) = serde_json::from_slice::<app::error::AppError>(&bytes) else {
        return ApiError::Internal(anyhow::anyhow!("a server function error that is not JSON"))
            .into_response();
    };
    parts.status =
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let app::error::AppError::TooManyRequests { retry_after_secs } = error {
        parts
            .headers
            .insert(header::RETRY_AFTER, retry_after_secs.into());
    }
    Response::from_parts(parts, Body::from(bytes))
}
