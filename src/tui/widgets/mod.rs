//! Widgets the screens share: the loss chart and the selectable list.

pub mod chart;
pub mod list;
