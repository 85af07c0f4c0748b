//! Small pieces of query building shared by the read paths.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Alias, BinOper, Expr, IntoColumnRef, SelectStatement, SimpleExpr};
use sea_orm::{DatabaseBackend, Statement};

use super::ServiceError;

/// A subquery that yields one value (or none: then nothing equals it), e.g.
/// the id of a row found by name, or the newest of a related list.
pub fn scalar(query: SelectStatement) -> SimpleExpr {
    SimpleExpr::SubQuery(None, Box::new(query.into_sub_query_statement()))
}

/// The text under `key` of a JSON object column, or NULL, read by the
/// database so a row's whole document is never decoded for one field. `->>`
/// means the same on SQLite and PostgreSQL, and the key is bound, not spliced.
pub fn json_text(column: impl IntoColumnRef, key: &str) -> SimpleExpr {
    Expr::col(column)
        .binary(BinOper::Custom("->>"), key)
        .cast_as(Alias::new("TEXT"))
}

/// A JSON column as its text, for a document decoded straight into the type
/// the caller wants rather than through a `serde_json::Value` first.
pub fn json_document(column: impl IntoColumnRef) -> SimpleExpr {
    Expr::col(column).cast_as(Alias::new("TEXT"))
}

/// A JSON object of strings read as text ([`json_document`]); anything else
/// reads as empty.
pub fn string_map(text: &str) -> BTreeMap<String, String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// `query` with at most `limit` rows, built for `backend`. On PostgreSQL the
/// limit is written into the SQL, not bound: a prepared statement is planned
/// afresh at every execution until a generic plan looks as cheap, and a
/// generic plan cannot know a bound limit, so a page of the list spent about
/// 2 ms planning for 0.5 ms of work. The limit is a number the caller has
/// bounded ([`PageSize`]), so a handful of statements are cached, not one
/// per request.
pub fn limited(backend: DatabaseBackend, mut query: SelectStatement, limit: u64) -> Statement {
    match backend {
        DatabaseBackend::Postgres => {
            query.reset_limit();
            let mut statement = backend.build(&query);
            statement.sql.push_str(&format!(" LIMIT {limit}"));
            statement
        }
        _ => backend.build(query.limit(limit)),
    }
}

/// How many rows one page of a list may hold.
#[derive(Debug, Clone, Copy)]
pub struct PageSize {
    pub default: u64,
    pub max: u64,
}

impl PageSize {
    /// The rows to show: the caller's limit, or the default. A limit outside
    /// `1..=max` is refused, naming the field.
    pub fn limit(self, asked: Option<u64>) -> Result<u64, ServiceError> {
        let limit = asked.unwrap_or(self.default);
        if limit == 0 || limit > self.max {
            return Err(ServiceError::invalid(
                "limit",
                format!("limit must be between 1 and {}", self.max),
            ));
        }
        Ok(limit)
    }

    /// The rows to fetch for a page of `limit`: one more, to learn whether
    /// another page follows without counting.
    pub fn fetch(limit: u64) -> u64 {
        limit + 1
    }
}

/// A page cut from rows fetched with [`PageSize::fetch`]: at most `limit`
/// rows, and the key of the last one when more follow.
pub fn page<T, K>(mut rows: Vec<T>, limit: u64, key: impl Fn(&T) -> K) -> (Vec<T>, Option<K>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(key);
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: PageSize = PageSize { default: 2, max: 3 };

    #[test]
    fn a_limit_is_defaulted_and_bounded() {
        assert_eq!(SIZE.limit(None).unwrap(), 2);
        assert_eq!(SIZE.limit(Some(3)).unwrap(), 3);
        assert!(SIZE.limit(Some(0)).is_err());
        assert!(SIZE.limit(Some(4)).is_err());
    }

    #[test]
    fn json_text_binds_its_key_on_both_databases() {
        use sea_orm::sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};
        let query = Query::select()
            .expr(json_text(Alias::new("doc"), "it's"))
            .to_owned();
        let (sqlite, values) = query.build(SqliteQueryBuilder);
        assert_eq!(sqlite, r#"SELECT CAST(("doc" ->> ?) AS TEXT)"#);
        assert_eq!(values.0, vec!["it's".into()]);
        let (pg, _) = query.build(PostgresQueryBuilder);
        assert_eq!(pg, r#"SELECT CAST(("doc" ->> $1) AS TEXT)"#);
    }

    #[test]
    fn a_limit_is_written_into_postgres_sql_and_bound_elsewhere() {
        use sea_orm::sea_query::Query;
        let query = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("t"))
            .and_where(Expr::col(Alias::new("tenant_id")).eq(7))
            .limit(3)
            .to_owned();
        let pg = limited(DatabaseBackend::Postgres, query.clone(), 51);
        assert!(
            pg.sql.ends_with("WHERE \"tenant_id\" = $1 LIMIT 51"),
            "{}",
            pg.sql
        );
        assert_eq!(pg.values.map(|v| v.0.len()), Some(1));
        let sqlite = limited(DatabaseBackend::Sqlite, query, 51);
        assert!(sqlite.sql.ends_with("LIMIT ?"), "{}", sqlite.sql);
        assert_eq!(sqlite.values.map(|v| v.0.len()), Some(2));
    }

    #[test]
    fn a_page_names_its_last_key_only_when_more_follow() {
        assert_eq!(page(vec![1, 2, 3], 2, |n| *n), (vec![1, 2], Some(2)));
        assert_eq!(page(vec![1, 2], 2, |n| *n), (vec![1, 2], None));
        assert_eq!(page(Vec::<i32>::new(), 2, |n| *n), (vec![], None));
    }
}
