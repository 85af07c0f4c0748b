//! The REST API under `/api/v1`.

mod deployments;
mod environments;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/deployments", get(deployments::list))
        .route("/deployments/{id}", get(deployments::show))
        .route("/environments", get(environments::list))
}
