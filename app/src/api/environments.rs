mod add_freeze_window;
mod list_environments;
mod list_freeze_windows;
mod remove_freeze_window;
mod update_policy;

pub use add_freeze_window::*;
pub use list_environments::*;
pub use list_freeze_windows::*;
pub use remove_freeze_window::*;
pub use update_policy::*;
