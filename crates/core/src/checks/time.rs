//! Reading the time claims (`exp`, `nbf`, `iat`) as NumericDates, shared by the checks
//! that compare them with the clock.

use serde_json::json;

use super::Cx;
use crate::finding::{Code, Finding};
use crate::json::{raw_f64, raw_value};
use crate::timefmt::{numeric_date, numeric_date_f64};

/// A NumericDate from a claim's JSON text, or why it is not one.
pub(crate) fn numeric(raw: &str) -> Result<f64, String> {
    match raw_f64(raw) {
        Some(f) => numeric_date_f64(f),
        None => numeric_date(&raw_value(raw)),
    }
}

/// The claim `name` (its JSON text `raw`) as a NumericDate; reports `invalid` when it
/// is present but not one.
pub(crate) fn read(cx: &mut Cx<'_>, name: &str, raw: Option<&str>, invalid: Code) -> Option<f64> {
    let raw = raw?;
    match numeric(raw) {
        Ok(t) => Some(t),
        Err(why) => {
            cx.push_claim(Finding::new(
                invalid,
                format!("`{name}` {why}"),
                json!({"expected": "a NumericDate (JSON number of seconds since 1970)", "actual": raw_value(raw)}),
            ));
            None
        }
    }
}
