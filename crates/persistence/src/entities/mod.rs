//! sea-orm entities, one module per table, in `sea-orm-cli generate entity` form. Data only.

pub mod prelude;

pub mod api_key;
pub mod audit_log;
pub mod calendar_day;
pub mod case_attachment;
pub mod case_category;
pub mod case_event;
pub mod case_number_counter;
pub mod cases;
pub mod community;
pub mod district;
pub mod grid;
pub mod inspection;
pub mod inspection_photo;
pub mod inspection_result;
pub mod merchant;
pub mod officer;
pub mod open311_request;
pub mod organisation;
pub mod organisation_member;
pub mod place;
pub mod pledge;
pub mod pledge_item;
pub mod refresh_token;
pub mod sla_policy;
pub mod stationing;
pub mod street;
pub mod user_area;
pub mod users;
pub mod work_calendar;
pub mod work_log;
pub mod work_log_case;
pub mod work_log_merchant;
pub mod work_log_participant;
pub mod work_log_photo;
