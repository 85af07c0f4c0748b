use serde::{Deserialize, Serialize};

/// A member's role in a tenant. Ordered: Viewer < Deployer < Admin (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Deployer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Deployer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Deployer => "deployer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Deployer => "Deployer",
            Role::Admin => "Admin",
        }
    }

    /// Whether this role may do `action` (the matrix of SPEC §7).
    pub fn allows(self, action: Action) -> bool {
        self >= action.minimum_role()
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a member may try to do, each with the least role that may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Deployments, events, dashboards, nodes, environments.
    Read,
    /// Start a deployment; cancel one's own pending one.
    Deploy,
    /// Pause, resume, abort, roll back, promote.
    Operate,
    /// Publish modules and versions.
    Publish,
    /// Approve or reject a pending deployment.
    Approve,
    /// Environments and their policies, node enrollment.
    ManageEnvironments,
    /// Users, roles and memberships of the tenant.
    ManageUsers,
    /// API tokens of the tenant.
    ManageTokens,
    /// Read the audit log.
    ReadAudit,
}

impl Action {
    pub fn minimum_role(self) -> Role {
        match self {
            Action::Read => Role::Viewer,
            Action::Deploy | Action::Operate | Action::Publish => Role::Deployer,
            Action::Approve
            | Action::ManageEnvironments
            | Action::ManageUsers
            | Action::ManageTokens
            | Action::ReadAudit => Role::Admin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_of_the_spec_holds() {
        use Action::*;
        let table = [
            (Read, [true, true, true]),
            (Deploy, [false, true, true]),
            (Operate, [false, true, true]),
            (Publish, [false, true, true]),
            (Approve, [false, false, true]),
            (ManageEnvironments, [false, false, true]),
            (ManageUsers, [false, false, true]),
            (ManageTokens, [false, false, true]),
            (ReadAudit, [false, false, true]),
        ];
        for (action, expected) in table {
            for (role, allowed) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(role.allows(action), allowed, "{role} {action:?}");
            }
        }
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("owner"), None);
        assert!(Role::Viewer < Role::Deployer && Role::Deployer < Role::Admin);
    }
}
