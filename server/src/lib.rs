//! Hotswap's server: configuration, the HTTP surface (pages, REST, health,
//! metrics), services over the database, and the pure domain logic beneath.

pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod entities;
pub mod http;

pub mod outbound;
pub mod services;
pub mod startup;
pub mod telemetry;
