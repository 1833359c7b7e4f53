#![doc = include_str!("../README.md")]

pub mod analytics;
pub mod calendar;
pub mod case;
pub mod category;
pub mod error;
pub mod geography;
pub mod ids;
pub mod input;
pub mod inspection;
pub mod jurisdiction;
pub mod lifecycle;
pub mod location;
pub mod media;
pub mod merchant;
pub mod notice;
pub mod people;
pub mod place;
pub mod pledge;
pub mod privacy;
pub mod routing;
pub mod stationing;
pub mod text;
pub mod time;
pub mod worklog;

pub use error::ValueError;
