//! The error type of server functions, shared by server and browser.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What a page can be told about a failed server call. Internal causes are
/// logged on the server and never travel to the browser. On the wire it has
/// the REST API's shape, `{"error": {"code", "message", "field"?}}`, and the
/// server answers with [`AppError::status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "Wire", from = "Wire")]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    #[error("not found")]
    NotFound,
    #[error("sign in to continue")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request is too large")]
    PayloadTooLarge,
    #[error("too many requests; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    #[error("something went wrong on the server")]
    Internal,
    /// The call itself failed: network, encoding, or a missing server function.
    #[error("could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status the server answers this error with (the REST API's).
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Invalid { .. } => 422,
            Self::NotFound => 404,
            Self::Unauthorized => 401,
            Self::Forbidden(_) => 403,
            Self::Conflict(_) => 409,
            Self::PayloadTooLarge => 413,
            Self::TooManyRequests { .. } => 429,
            Self::Unavailable => 503,
            Self::Internal | Self::Transport(_) => 500,
        }
    }

    /// The REST API's code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Invalid { .. } => "invalid",
            Self::NotFound => "not_found",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::TooManyRequests { .. } => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::Transport(_) => "transport",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    error: Detail,
}

#[derive(Serialize, Deserialize)]
struct Detail {
    code: String,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<u64>,
}

impl From<AppError> for Wire {
    fn from(error: AppError) -> Self {
        let field = match &error {
            AppError::Invalid { field, .. } => field.clone(),
            _ => None,
        };
        let retry_after_secs = match &error {
            AppError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        Wire {
            error: Detail {
                code: error.code().into(),
                message: error.to_string(),
                field,
                retry_after_secs,
            },
        }
    }
}

impl From<Wire> for AppError {
    fn from(wire: Wire) -> Self {
        let Detail {
            code,
            message,
            field,
            retry_after_secs,
        } = wire.error;
        match code.as_str() {
            "bad_request" => Self::BadRequest(message),
            "invalid" => Self::Invalid { field, message },
            "not_found" => Self::NotFound,
            "unauthorized" => Self::Unauthorized,
            "forbidden" => Self::Forbidden(message),
            "conflict" => Self::Conflict(message),
            "payload_too_large" => Self::PayloadTooLarge,
            "rate_limited" => Self::TooManyRequests {
                retry_after_secs: retry_after_secs.unwrap_or(1),
            },
            "unavailable" => Self::Unavailable,
            "internal" => Self::Internal,
            _ => Self::Transport(message),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// On the server these are the caller's mistakes (arguments that do not
    /// decode, a body over the limit); in the browser, a failed call.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        if cfg!(feature = "ssr") {
            match value {
                ServerFnErrorErr::Args(message) | ServerFnErrorErr::MissingArg(message) => {
                    Self::BadRequest(format!("bad arguments: {message}"))
                }
                ServerFnErrorErr::Deserialization(message) if message.contains("length limit") => {
                    Self::PayloadTooLarge
                }
                ServerFnErrorErr::Deserialization(message) => {
                    Self::BadRequest(format!("the request could not be read: {message}"))
                }
                ServerFnErrorErr::UnsupportedRequestMethod(message) => Self::BadRequest(message),
                _ => Self::Internal,
            }
        } else {
            Self::Transport(value.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_travels_in_the_rest_shape_and_back() {
        for error in [
            AppError::BadRequest("x".into()),
            AppError::Invalid {
                field: Some("name".into()),
                message: "too long".into(),
            },
            AppError::NotFound,
            AppError::Unauthorized,
            AppError::Forbidden("no".into()),
            AppError::Conflict("taken".into()),
            AppError::PayloadTooLarge,
            AppError::TooManyRequests {
                retry_after_secs: 7,
            },
            AppError::Unavailable,
            AppError::Internal,
        ] {
            let json = serde_json::to_value(&error).expect("serialises");
            assert_eq!(json["error"]["code"], error.code(), "{json}");
            assert_eq!(
                serde_json::from_value::<AppError>(json).expect("reads back"),
                error
            );
        }
    }
}
