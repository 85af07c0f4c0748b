//! Reusable pieces of UI. They render what they are given and never call the server.

pub mod confirm;
pub mod deployment_table;
pub mod empty_state;
pub mod error_panel;
pub mod form_field;
pub mod layout;
pub mod metric_chart;
pub mod status_badge;
pub mod time;
