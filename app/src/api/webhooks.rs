mod create_webhook;
mod delete_webhook;
mod list_deliveries;
mod list_webhooks;

pub use create_webhook::*;
pub use delete_webhook::*;
pub use list_deliveries::*;
pub use list_webhooks::*;
