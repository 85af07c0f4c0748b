//! What answers when no route matches: JSON under `/api`, static files and the
//! styled 404 page elsewhere.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};

use crate::http::api_errors::is_api;
use crate::http::error::ApiError;
use crate::http::state::AppState;

pub async fn not_found(
    State(state): State<AppState>,
    uri: Uri,
    request: Request<Body>,
) -> Response {
    if is_api(uri.path()) {
        return ApiError::NotFound(format!(
            "no such endpoint: {} {}",
            request.method(),
            uri.path()
        ))
        .into_response();
    }
    let services = state.services.clone();
    // The same context as the pages' (`router.rs`): the 404 page renders the
    // layout, whose server functions then read the session once between them.
    let pages = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        move || {
            leptos::prelude::provide_context(services.clone());
            leptos::prelude::provide_context(crate::http::ui::PageMemo::default());
        },
        app::shell,
    );
    pages(uri, State(state), request).await
}

/// 405 for a known path with the wrong method, in the error shape of its area.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let message = format!("{method} is not allowed on {}", uri.path());
    if is_api(uri.path()) {
        ApiError::MethodNotAllowed(message).into_response()
    } else {
        (axum::http::StatusCode::METHOD_NOT_ALLOWED, message).into_response()
    }
}
