#![doc = include_str!("../README.md")]

pub mod db;
pub mod entities;
pub mod error;
pub mod nodelay;
pub mod reads;
pub mod repo;
#[cfg(feature = "testing")]
pub mod testing;

pub use db::{Backend, DbSettings, connect, migrate};
pub use error::{Clash, RepoError};
pub use reads::{ReadPool, ReplicaSettings, ReplicaState};
pub use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
