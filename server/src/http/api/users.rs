use app::model::role::Role;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, Id};
use crate::services::principal::Principal;
use app::model::admin::{AddedMember, Member, NewMember};

use crate::http::state::AppState;
use crate::services::users::{self, MemberChange};

fn role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text).ok_or_else(|| ApiError::invalid("role", "one of viewer, deployer, admin"))
}

#[derive(Debug, Deserialize)]
pub struct AddUser {
    username: String,
    email: Option<String>,
    role: String,
    password: Option<String>,
}

/// `GET /api/v1/users`: the members of the caller's tenant.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(users::list(&state.db, &principal).await?))
}

/// `POST /api/v1/users`: a new local user, a pre-registered single sign-on
/// user (email, no password), or an existing user added to this tenant.
pub async fn add(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<AddUser>,
) -> ApiResult<(StatusCode, Json<AddedMember>)> {
    let new = NewMember {
        role: role(&body.role)?,
        username: body.username,
        email: body.email.filter(|e| !e.trim().is_empty()),
        password: body.password.filter(|p| !p.is_empty()),
    };
    Ok((
        StatusCode::CREATED,
        Json(users::add(&state.db, &principal, new).await?),
    ))
}

#[derive(Debug, Deserialize)]
pub struct UpdateUser {
    role: Option<String>,
    disabled: Option<bool>,
    account_disabled: Option<bool>,
}

/// `PATCH /api/v1/users/{id}` `{role?, disabled?, account_disabled?}`:
/// `disabled` is the membership of this tenant; `account_disabled` the
/// account everywhere (platform admins only).
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Json<Member>> {
    let change = MemberChange {
        role: body.role.as_deref().map(role).transpose()?,
        disabled: body.disabled,
        account_disabled: body.account_disabled,
    };
    Ok(Json(
        users::update(&state.db, &principal, id, change).await?,
    ))
}
