mod get_dashboard;

pub use get_dashboard::*;
