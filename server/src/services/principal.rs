//! Who is acting, in which tenant, with which role — the input of every
//! permission check.

use app::model::role::{Action, Role};

use crate::services::tenancy::Tenant;
use crate::services::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    Session,
    Token { id: i64 },
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub tenant: Tenant,
    pub role: Role,
    pub is_platform_admin: bool,
    /// Read with the principal, so a page need not read the account again.
    pub must_change_password: bool,
    pub credential: Credential,
}

impl Principal {
    /// Ok when the role allows `action`; otherwise a 403 that says what is missing.
    pub fn require(&self, action: Action) -> Result<(), ServiceError> {
        if self.role.allows(action) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "this needs the {} role; you are a {} in {}",
                action.minimum_role().label(),
                self.role.label(),
                self.tenant.slug
            )))
        }
    }

    pub fn require_platform_admin(&self) -> Result<(), ServiceError> {
        if self.is_platform_admin {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only a platform admin may do this".into(),
            ))
        }
    }
}
