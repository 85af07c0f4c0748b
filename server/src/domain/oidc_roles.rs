//! Which tenant roles a single sign-on user gets, from their identity provider's claims.

use app::model::role::Role;

/// `group=tenant:role`: members of `group` get `role` in `tenant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRule {
    pub group: String,
    pub tenant: String,
    pub role: Role,
}

/// Parses `admins=default:admin,devs=default:deployer`.
pub fn parse_rules(text: &str) -> Result<Vec<RoleRule>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|rule| {
            let (group, target) = rule
                .split_once('=')
                .ok_or_else(|| format!("{rule:?} is not group=tenant:role"))?;
            let (tenant, role) = target
                .split_once(':')
                .ok_or_else(|| format!("{rule:?} is not group=tenant:role"))?;
            let role = Role::parse(role.trim())
                .ok_or_else(|| format!("{rule:?}: unknown role {role:?}"))?;
            Ok(RoleRule {
                group: group.trim().to_string(),
                tenant: tenant.trim().to_string(),
                role,
            })
        })
        .collect()
}

/// How roles are granted: explicit rules first; otherwise a default role in a
/// default tenant, or nothing (and the sign-in is refused).
#[derive(Debug, Clone)]
pub struct RolePolicy {
    pub rules: Vec<RoleRule>,
    pub default_role: Option<Role>,
    pub default_tenant: String,
}

/// A role the identity provider grants, and whether it overrides a role set by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub tenant: String,
    pub role: Role,
    /// Rules speak for the identity provider and win; the default never
    /// lowers a role an admin gave.
    pub authoritative: bool,
}

impl RolePolicy {
    pub fn grants(&self, groups: &[String]) -> Vec<Grant> {
        let mut grants: Vec<Grant> = Vec::new();
        for rule in self.rules.iter().filter(|r| groups.contains(&r.group)) {
            match grants.iter_mut().find(|g| g.tenant == rule.tenant) {
                Some(g) => g.role = g.role.max(rule.role),
                None => grants.push(Grant {
                    tenant: rule.tenant.clone(),
                    role: rule.role,
                    authoritative: true,
                }),
            }
        }
        if grants.is_empty() {
            if let Some(role) = self.default_role {
                grants.push(Grant {
                    tenant: self.default_tenant.clone(),
                    role,
                    authoritative: false,
                });
            }
        }
        grants
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(default_role: Option<Role>) -> RolePolicy {
        RolePolicy {
            rules: parse_rules("ops=default:admin, devs=default:deployer, devs=acme:viewer")
                .expect("rules"),
            default_role,
            default_tenant: "default".into(),
        }
    }

    #[test]
    fn rules_grant_the_highest_matching_role_per_tenant() {
        let grants = policy(None).grants(&["devs".into(), "ops".into()]);
        assert_eq!(
            grants,
            [
                Grant {
                    tenant: "default".into(),
                    role: Role::Admin,
                    authoritative: true
                },
                Grant {
                    tenant: "acme".into(),
                    role: Role::Viewer,
                    authoritative: true
                },
            ]
        );
    }

    #[test]
    fn without_a_matching_group_the_default_applies_or_nothing() {
        assert_eq!(
            policy(Some(Role::Viewer)).grants(&["marketing".into()]),
            [Grant {
                tenant: "default".into(),
                role: Role::Viewer,
                authoritative: false
            }]
        );
        assert!(policy(None).grants(&[]).is_empty());
    }

    #[test]
    fn malformed_rules_are_explained() {
        assert!(parse_rules("ops").is_err());
        assert!(parse_rules("ops=default").is_err());
        assert!(parse_rules("ops=default:owner").is_err());
        assert_eq!(parse_rules("").expect("empty is fine"), []);
    }
}
