//! sea-orm entities, one module per table, in `sea-orm-cli generate entity` form. Data only.

pub mod prelude;

pub mod case_category;
pub mod community;
pub mod district;
pub mod grid;
pub mod officer;
pub mod street;
pub mod users;
