mod act_on_deployment;
mod get_deployment;
mod list_deployments;
mod preview_deployment;
mod request_deployment;

pub use act_on_deployment::*;
pub use get_deployment::*;
pub use list_deployments::*;
pub use preview_deployment::*;
pub use request_deployment::*;
