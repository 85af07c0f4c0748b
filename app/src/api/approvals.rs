mod decide_approval;
mod list_approvals;

pub use decide_approval::*;
pub use list_approvals::*;
