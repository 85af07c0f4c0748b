mod list_environments;

pub use list_environments::*;
