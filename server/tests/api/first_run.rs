use hotswap::domain::password;
use hotswap::entities::{environments, memberships, users};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::helpers::{spawn_app, spawn_app_on, ADMIN_PASSWORD};

/// A fresh install has the default tenant, its four environments and an admin
/// who can sign in with the configured password.
#[tokio::test]
async fn first_run_creates_tenant_environments_and_admin() {
    let app = spawn_app().await;
    let tenant = app.default_tenant().await;

    let envs: Vec<_> = environments::Entity::find()
        .filter(environments::Column::TenantId.eq(tenant))
        .order_by_asc(environments::Column::Position)
        .all(&app.db)
        .await
        .expect("query");
    let names: Vec<_> = envs.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["dev", "qa", "staging", "production"]);
    let gated: Vec<_> = envs
        .iter()
        .filter(|e| e.requires_approval)
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(gated, ["staging", "production"]);

    let admin = users::Entity::find()
        .filter(users::Column::Username.eq("admin"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("admin exists");
    let hash = admin.password_hash.expect("a local password");
    assert!(hash.starts_with("$argon2id$"));
    assert!(password::verify(ADMIN_PASSWORD, &hash));
    assert!(
        !admin.must_change_password,
        "a configured password is the admin's own"
    );
    assert!(admin.is_platform_admin);

    let membership = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(admin.id))
        .one(&app.db)
        .await
        .expect("query")
        .expect("membership");
    assert_eq!(membership.tenant_id, tenant);
    assert_eq!(membership.role, "admin");
}

/// Restarting on the same database changes nothing and reports no first run.
#[tokio::test]
async fn a_second_start_keeps_what_the_first_created() {
    let data = tempfile::tempdir().expect("temp dir");
    let url = crate::helpers::fresh_database_url(data.path()).await;
    let config = crate::helpers::test_config(data.path(), &url);

    let first = hotswap::startup::Application::build(config.clone())
        .await
        .expect("starts");
    assert!(first.first_run().is_some());
    drop(first);

    let second = hotswap::startup::Application::build(config)
        .await
        .expect("starts again");
    assert!(second.first_run().is_none());
    drop(second);

    let app = spawn_app_on(data, url).await;
    let count = users::Entity::find()
        .all(&app.db)
        .await
        .expect("query")
        .len();
    assert_eq!(count, 1, "no second admin");
}
