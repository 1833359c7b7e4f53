//! sea-orm entities, one module per table, in `sea-orm-cli generate entity` form. Data only.

pub mod prelude;

pub mod audit_log;
pub mod case_category;
pub mod community;
pub mod district;
pub mod grid;
pub mod officer;
pub mod refresh_token;
pub mod street;
pub mod user_area;
pub mod users;
