mod count_pending_approvals;
mod decide_approval;
mod list_approvals;

pub use count_pending_approvals::*;
pub use decide_approval::*;
pub use list_approvals::*;
