mod get_deployment;
mod list_deployments;

pub use get_deployment::*;
pub use list_deployments::*;
