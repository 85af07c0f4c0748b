//! The server side of the app's service traits, used by server functions.

use app::error::AppError;
use app::model::dashboard::Dashboard;
use app::model::deployment::{DeploymentFilter, DeploymentPage};
use app::model::environment::EnvironmentSummary;
use async_trait::async_trait;
use sea_orm::DatabaseConnection;

use crate::services::read::ReadModel;
use crate::services::tenancy::{request_tenant, Tenant};
use crate::services::ServiceError;

pub struct UiReadService {
    db: DatabaseConnection,
    read: ReadModel,
}

impl UiReadService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            read: ReadModel::new(db.clone()),
            db,
        }
    }

    async fn tenant(&self) -> Result<Tenant, ServiceError> {
        request_tenant(&self.db).await
    }
}

#[async_trait]
impl app::services::ReadService for UiReadService {
    async fn dashboard(&self) -> Result<Dashboard, AppError> {
        let tenant = self.tenant().await?;
        Ok(self.read.dashboard(&tenant).await?)
    }

    async fn environments(&self) -> Result<Vec<EnvironmentSummary>, AppError> {
        let tenant = self.tenant().await?;
        Ok(self.read.environments(&tenant).await?)
    }

    async fn deployments(&self, filter: DeploymentFilter) -> Result<DeploymentPage, AppError> {
        let tenant = self.tenant().await?;
        Ok(self.read.deployments(&tenant, &filter).await?)
    }
}

impl From<ServiceError> for AppError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound(_) => AppError::NotFound,
            ServiceError::Invalid { field, message } => AppError::Invalid {
                field: Some(field.to_string()),
                message,
            },
            ServiceError::Conflict(message) => AppError::Conflict(message),
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                AppError::Unavailable
            }
            ServiceError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "server function failed");
                AppError::Internal
            }
        }
    }
}
