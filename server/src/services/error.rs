use sea_orm::{DbErr, RuntimeErr};

/// What a use case can fail with. The HTTP layer and the server functions each
/// translate it once.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("sign in to continue")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            ServiceError::Unavailable(err)
        } else if is_unique_violation(&err) {
            // A check-then-insert that lost a race with an identical request
            // (logged: a unique index refusing anything else is a bug).
            tracing::warn!(error = %err, "a unique index refused a write; answering 409");
            ServiceError::Conflict(
                "this exists already (it was just created by another request)".into(),
            )
        } else {
            ServiceError::Unexpected(anyhow::Error::new(err))
        }
    }
}

/// True when the error means "cannot reach the database" rather than "the query was wrong".
pub fn is_unavailable(err: &DbErr) -> bool {
    let sqlx_error = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx_error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        // A server shutting down or restarting ends its sessions with class
        // 57P (operator intervention) or 08 (connection exception).
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
        _ => false,
    }
}

impl From<app::model::validate::FieldError> for ServiceError {
    fn from(err: app::model::validate::FieldError) -> Self {
        ServiceError::invalid(err.field, err.message)
    }
}

/// True when an insert lost a race to a unique index (or repeated a row).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
