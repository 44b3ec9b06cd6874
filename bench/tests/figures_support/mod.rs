//! Reading READMEs and results files for the figure check (`tests/figures.rs`).

pub mod markdown;
pub mod numbers;
