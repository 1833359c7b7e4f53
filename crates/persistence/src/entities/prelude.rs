pub use super::case_category::Entity as CaseCategory;
pub use super::community::Entity as Community;
pub use super::district::Entity as District;
pub use super::grid::Entity as Grid;
pub use super::officer::Entity as Officer;
pub use super::street::Entity as Street;
pub use super::users::Entity as Users;
