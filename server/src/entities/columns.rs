//! JSON columns whose values are domain types. The impls are the ones
//! SeaORM's `FromJsonQueryResult` derive writes, kept here so the domain
//! types stay free of the database crate.

use crate::domain::plan::StoredPlan;
use crate::domain::strategy::StoredStrategy;

macro_rules! json_column {
    ($($ty:ty),* $(,)?) => {$(
        impl sea_orm::TryGetableFromJson for $ty {}

        impl From<$ty> for sea_orm::Value {
            fn from(source: $ty) -> Self {
                // Both serialize through serde_json::Value, which cannot fail.
                sea_orm::Value::Json(serde_json::to_value(&source).ok().map(Box::new))
            }
        }

        impl sea_orm::sea_query::ValueType for $ty {
            fn try_from(v: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                match v {
                    sea_orm::Value::Json(Some(json)) => {
                        serde_json::from_value(*json).map_err(|_| sea_orm::sea_query::ValueTypeErr)
                    }
                    _ => Err(sea_orm::sea_query::ValueTypeErr),
                }
            }

            fn type_name() -> String {
                stringify!($ty).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::Json
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::Json
            }
        }

        impl sea_orm::sea_query::Nullable for $ty {
            fn null() -> sea_orm::Value {
                sea_orm::Value::Json(None)
            }
        }
    )*};
}

json_column!(StoredStrategy, StoredPlan);
