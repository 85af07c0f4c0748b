mod add_member;
mod create_tenant;
mod create_token;
mod list_audit;
mod list_members;
mod list_tokens;
mod revoke_token;
mod switch_tenant;
mod update_member;

pub use add_member::*;
pub use create_tenant::*;
pub use create_token::*;
pub use list_audit::*;
pub use list_members::*;
pub use list_tokens::*;
pub use revoke_token::*;
pub use switch_tenant::*;
pub use update_member::*;

/// Form fields arrive as text; an empty one means "not given".
#[cfg(feature = "ssr")]
pub(crate) fn given(text: String) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// A role typed into a form.
#[cfg(feature = "ssr")]
pub(crate) fn role_field(text: &str) -> Result<crate::model::role::Role, crate::error::AppError> {
    crate::model::role::Role::parse(text).ok_or(crate::error::AppError::Invalid {
        field: Some("role".into()),
        message: "one of viewer, deployer, admin".into(),
    })
}
