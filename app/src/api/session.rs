mod change_password;
mod get_single_sign_on;
mod get_viewer;

pub use change_password::*;
pub use get_single_sign_on::*;
pub use get_viewer::*;
