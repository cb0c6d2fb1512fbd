//! Converting documents of other tools into `flow.scenario/1`.
//!
//! Each format is one pure function from text to a [`crate::Scenario`] that passes
//! [`crate::validate::validate_scenario`]; bad input is an [`crate::Error`] whose
//! problems name the field of the *foreign* document (`patients[3].surgeon_id`).
//! Reading the file and choosing a name are the caller's business.
//!
//! - [`ihtc`]: an instance of the Integrated Healthcare Timetabling Competition 2024.

pub mod ihtc;
