mod list_deployments;

pub use list_deployments::*;
