#![doc = include_str!("../README.md")]

pub mod api_key;
pub mod device;
pub mod password;
pub mod policy;
pub mod principal;
pub mod refresh;
pub mod throttle;
pub mod token;

pub use policy::{Action, Decision, DenyReason, Resource, authorize};
pub use principal::Principal;
