use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::http::error::ApiError;

/// Where the signed-in user is kept in the session.
const KEY: &str = "auth";

/// A session lives at most this long after sign-in, however active it is.
pub const ABSOLUTE_LIFETIME: Duration = Duration::days(7);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: i64,
    pub tenant_id: i64,
    pub signed_in_at: DateTime<Utc>,
}

impl SessionAuth {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        now - self.signed_in_at > ABSOLUTE_LIFETIME
    }
}

/// Sessions live in the database, so a store error almost always means the
/// database is unreachable.
fn store_error(err: tower_sessions::session::Error) -> ApiError {
    tracing::warn!(error = %err, "session store unavailable");
    ApiError::Unavailable
}

pub async fn read(session: &Session) -> Result<Option<SessionAuth>, ApiError> {
    session.get::<SessionAuth>(KEY).await.map_err(store_error)
}

/// Signs the session in under a fresh id, so an id planted before sign-in is worthless.
pub async fn sign_in(session: &Session, auth: SessionAuth) -> Result<(), ApiError> {
    session.cycle_id().await.map_err(store_error)?;
    session.insert(KEY, auth).await.map_err(store_error)
}

pub async fn switch_tenant(
    session: &Session,
    mut auth: SessionAuth,
    tenant_id: i64,
) -> Result<(), ApiError> {
    auth.tenant_id = tenant_id;
    session.insert(KEY, auth).await.map_err(store_error)
}

pub async fn sign_out(session: &Session) -> Result<(), ApiError> {
    session.flush().await.map_err(store_error)
}
