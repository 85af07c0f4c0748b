mod change_password;
mod get_viewer;

pub use change_password::*;
pub use get_viewer::*;
