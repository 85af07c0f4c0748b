mod create_enrollment_token;
mod list_nodes;

pub use create_enrollment_token::*;
pub use list_nodes::*;
