//! Changing an environment's roll-out settings.

use std::collections::BTreeMap;

use app::model::role::Action;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, IntoActiveModel, QueryFilter, Set,
};
use serde_json::{Map, Value};

use app::model::duration;

use crate::domain::strategy::{parse_duration, Strategy};
use crate::entities::environments;
use crate::outbound::OutboundPolicy;
use crate::services::principal::Principal;
use crate::services::tenancy::scoped;
use crate::services::ServiceError;

/// Applies the fields present in `patch`: `default_strategy`, `analysis`
/// (`{interval, min_samples, inconclusive}`), `switch_hook` (`null` clears it)
/// and the approval policy (`requires_approval`, `required_approvals`,
/// `allow_self_approval`, `approval_timeout`).
pub async fn update(
    db: &DatabaseConnection,
    principal: &Principal,
    name: &str,
    patch: Map<String, Value>,
    switch_commands: &BTreeMap<String, String>,
    outbound: &OutboundPolicy,
) -> Result<(), ServiceError> {
    principal.require(Action::ManageEnvironments)?;
    let env = scoped::<environments::Entity>(&principal.tenant)
        .filter(environments::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    let mut active = env.clone().into_active_model();
    for (key, value) in patch {
        match key.as_str() {
            "default_strategy" => {
                let strategy = Strategy::parse(&value)
                    .map_err(|e| ServiceError::invalid("default_strategy", e.to_string()))?;
                active.default_strategy = Set(strategy.to_document());
            }
            "analysis" => active.analysis = Set(analysis(&env.analysis, &value, outbound)?),
            "switch_hook" => {
                crate::domain::switch::validate(&value, switch_commands, outbound)
                    .map_err(|m| ServiceError::invalid("switch_hook", m))?;
                active.switch_hook = Set((!value.is_null()).then_some(value));
            }
            "requires_approval" => {
                active.requires_approval = Set(flag(&value, "requires_approval")?);
            }
            "allow_self_approval" => {
                active.allow_self_approval = Set(flag(&value, "allow_self_approval")?);
            }
            "required_approvals" => {
                let n = value
                    .as_i64()
                    .filter(|n| (1..=MAX_APPROVERS).contains(n))
                    .ok_or_else(|| {
                        ServiceError::invalid(
                            "required_approvals",
                            format!("a whole number from 1 to {MAX_APPROVERS}"),
                        )
                    })?;
                active.required_approvals = Set(n as i32);
            }
            "approval_timeout" => {
                let d = parse_duration(&value, "approval_timeout", &duration::APPROVAL_TIMEOUT)
                    .map_err(|e| ServiceError::invalid("approval_timeout", e.message))?;
                active.approval_timeout_secs = Set(d.as_secs() as i64);
            }
            other => {
                return Err(ServiceError::invalid(
                    "body",
                    format!(
                        "unknown field {other:?}; default_strategy, analysis, switch_hook, \
                         requires_approval, required_approvals, allow_self_approval or \
                         approval_timeout"
                    ),
                ))
            }
        }
    }
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(())
}

/// More approvers than this is a typo, not a policy.
const MAX_APPROVERS: i64 = 10;

fn flag(value: &Value, field: &'static str) -> Result<bool, ServiceError> {
    value
        .as_bool()
        .ok_or_else(|| ServiceError::invalid(field, "true or false"))
}

fn analysis(
    current: &Value,
    patch: &Value,
    policy: &OutboundPolicy,
) -> Result<Value, ServiceError> {
    let Value::Object(fields) = patch else {
        return Err(ServiceError::invalid(
            "analysis",
            "an object: {interval, min_samples, inconclusive}",
        ));
    };
    let mut merged = current.as_object().cloned().unwrap_or_default();
    for (key, value) in fields {
        match key.as_str() {
            "interval" => {
                parse_duration(value, "interval", &duration::ANALYSIS_INTERVAL)
                    .map_err(|e| ServiceError::invalid("analysis", e.to_string()))?;
            }
            "min_samples" if value.as_u64().is_some() => {}
            "min_samples" => {
                return Err(ServiceError::invalid(
                    "analysis",
                    "min_samples: a whole number",
                ))
            }
            "inconclusive" if matches!(value.as_str(), Some("pass" | "fail")) => {}
            "inconclusive" => {
                return Err(ServiceError::invalid(
                    "analysis",
                    "inconclusive: \"pass\" or \"fail\"",
                ))
            }
            "provider" if matches!(value.as_str(), Some("agent_probe" | "prometheus")) => {}
            "provider" => {
                return Err(ServiceError::invalid(
                    "analysis",
                    "provider: agent_probe or prometheus",
                ))
            }
            "url" | "requests_query" | "error_rate_query" | "p95_query" if value.is_string() => {}
            other => {
                return Err(ServiceError::invalid(
                    "analysis",
                    format!("unknown setting {other:?}"),
                ))
            }
        }
        merged.insert(key.clone(), value.clone());
    }
    if merged.get("provider").and_then(Value::as_str) == Some("prometheus") {
        crate::domain::analysis::validate_prometheus(&merged, policy)
            .map_err(|m| ServiceError::invalid("analysis", m))?;
    }
    Ok(Value::Object(merged))
}
