mod list_modules;
mod list_versions;

pub use list_modules::*;
pub use list_versions::*;
