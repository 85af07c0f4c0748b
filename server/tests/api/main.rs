//! Integration tests: the real application on port 0, over HTTP, against a
//! real database. SQLite by default; set `HOTSWAP_TEST_DATABASE_URL` to a
//! PostgreSQL server's URL to run every test there (each gets its own database).

mod fleet;
mod helpers;

mod approvals;
mod auth;
mod cli;
mod crash;
mod deployments;
mod errors;
mod first_run;
mod freeze;
mod fuzz;
mod health;
mod limits;
mod live;
mod outage;
mod pages;
mod prometheus;
mod queries;
mod rbac;
mod rollouts;
mod security;
mod tokens;
mod users;
mod webhooks;
