//! Small pieces of query building shared by the read paths.

use sea_orm::sea_query::{SelectStatement, SimpleExpr};

/// A subquery that yields one value (or none: then nothing equals it), e.g.
/// the id of a row found by name, or the newest of a related list.
pub fn scalar(query: SelectStatement) -> SimpleExpr {
    SimpleExpr::SubQuery(None, Box::new(query.into_sub_query_statement()))
}
