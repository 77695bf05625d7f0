//! Plain-text views for people: a report as a check table with findings, a decoded
//! token with times in words, the preset list.

use std::fmt::Write;

use jwtshield_core::doctor::{DoctorReport, Level, Verdict};
use jwtshield_core::presets::Preset;
use jwtshield_core::{Inspection, Report, Severity, Status};
use serde_json::Value;

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

/// A report: verdict, one line per check, then every finding with its evidence.
pub fn report(r: &Report, color: bool) -> String {
    let mut out = String::new();
    let errors = r.errors().count();
    if r.valid() {
        let _ = writeln!(out, "{}", paint("VALID", "1;32", color));
    } else {
        let _ = writeln!(
            out,
            "{}  {errors} error{}",
            paint("INVALID", "1;31", color),
            if errors == 1 { "" } else { "s" }
        );
    }
    let _ = writeln!(out);
    for (check, status) in r.checks().iter() {
        let s = match status {
            Status::Pass => paint("pass", "32", color),
            Status::Fail => paint("FAIL", "1;31", color),
            Status::Skipped => paint("skipped", "33", color),
        };
        let _ = writeln!(out, "  {:<16} {s}", check.as_str());
    }
    if !r.findings().is_empty() {
        let _ = writeln!(out);
    }
    for f in r.findings() {
        let sev = match f.severity {
            Severity::Error => paint("error", "31", color),
            Severity::Warning => paint("warning", "33", color),
            Severity::Info => paint("info", "36", color),
        };
        let _ = writeln!(out, "  [{sev}] {} {}", f.check.as_str(), f.code.as_str());
        let _ = writeln!(out, "      {}", f.message);
        if let Value::Object(ev) = &f.evidence {
            for key in ["expected", "actual"] {
                if let Some(v) = ev.get(key) {
                    let _ = writeln!(out, "      {key:<9} {}", compact(v));
                }
            }
        }
    }
    if let Some(key) = r.key() {
        let _ = writeln!(
            out,
            "\n  verified with {} key{} ({})",
            key.kty,
            key.kid
                .as_deref()
                .map(|k| format!(" \"{k}\""))
                .unwrap_or_default(),
            key.alg
        );
    }
    out
}

/// The issuer doctor's report: verdict, where things are, the keys, every problem.
pub fn doctor(r: &DoctorReport, color: bool) -> String {
    let mut out = String::new();
    let verdict = match r.verdict {
        Verdict::Healthy => paint("HEALTHY", "1;32", color),
        Verdict::Problems => paint("PROBLEMS", "1;31", color),
        Verdict::Unreachable => paint("UNREACHABLE", "1;31", color),
    };
    let _ = writeln!(out, "{verdict}  {}\n", r.issuer);
    let _ = writeln!(out, "  discovery  {}", r.discovery_url);
    if let Some(i) = &r.discovery_issuer {
        let _ = writeln!(out, "  issuer     {i}");
    }
    if let Some(u) = &r.jwks_uri {
        let _ = writeln!(out, "  jwks_uri   {u}");
    }
    if let Some(c) = &r.cache_control {
        let _ = writeln!(out, "  cache      {c}");
    }
    if !r.keys.is_empty() || !r.skipped_keys.is_empty() {
        let _ = writeln!(out, "\n  keys");
    }
    for k in &r.keys {
        let size = match (k.bits, k.crv) {
            (Some(b), _) => format!("{b} bits"),
            (None, Some(c)) => c.to_owned(),
            _ => String::new(),
        };
        let algs = match &k.alg {
            Some(a) => format!("{a} (pinned)"),
            None if k.algorithms.is_empty() => "none".to_owned(),
            None => k.algorithms.join(","),
        };
        let _ = writeln!(
            out,
            "    {:<24} {:<4} {:<10} use {:<4} verifies {algs}",
            k.kid.as_deref().unwrap_or("(no kid)"),
            k.kty,
            size,
            k.use_.as_deref().unwrap_or("-"),
        );
    }
    for k in &r.skipped_keys {
        let _ = writeln!(
            out,
            "    {:<24} {}",
            k.kid.as_deref().unwrap_or("(no kid)"),
            paint(&format!("refused: {}", k.reason), "31", color)
        );
    }
    if !r.algorithms_offered.is_empty() {
        let _ = writeln!(
            out,
            "\n  algorithms offered  {}",
            r.algorithms_offered.join(", ")
        );
    }
    if let Some(a) = &r.algorithms_allowed {
        let _ = writeln!(out, "  algorithms allowed  {}", a.join(", "));
    }
    if !r.problems.is_empty() {
        let _ = writeln!(out);
    }
    for p in &r.problems {
        let sev = match p.severity {
            Level::Error => paint("error", "31", color),
            Level::Warning => paint("warning", "33", color),
            Level::Info => paint("info", "36", color),
        };
        let _ = writeln!(out, "  [{sev}] {}", p.code);
        let _ = writeln!(out, "      {}", p.message);
    }
    out
}

/// A decoded token for people.
pub fn inspection(i: &Inspection) -> String {
    let mut out = String::new();
    for f in &i.format_errors {
        let _ = writeln!(out, "{}: {}", f.code.as_str(), f.message);
    }
    if let Some(h) = &i.header {
        let _ = writeln!(out, "Header");
        for (k, v) in h.iter() {
            let _ = writeln!(out, "  {k:<12} {}", compact(v));
        }
    }
    if let Some(c) = &i.claims {
        let _ = writeln!(out, "Claims");
        for (k, v) in c.iter() {
            let time = i.times.iter().find(|t| t.claim == k);
            match time {
                Some(t) => {
                    let _ = writeln!(
                        out,
                        "  {k:<12} {}  {} ({})",
                        compact(v),
                        t.utc.as_deref().unwrap_or("?"),
                        t.relative
                    );
                }
                None => {
                    let _ = writeln!(out, "  {k:<12} {}", compact(v));
                }
            }
        }
    }
    if !i.warnings.is_empty() {
        let _ = writeln!(out, "Warnings");
        for w in &i.warnings {
            let _ = writeln!(out, "  ! {} {}", w.code, w.message);
        }
    }
    let _ = writeln!(
        out,
        "\nNot verified: decode never checks the signature or the claims. Use `jwtshield validate`."
    );
    out
}

/// The preset list.
pub fn preset_list(presets: &[Preset]) -> String {
    let mut out = String::new();
    for p in presets {
        let params: Vec<&str> = p.params.iter().map(|x| x.name).collect();
        let _ = writeln!(
            out,
            "{:<16} {:<9} {}  [params: {}]",
            p.name,
            p.token_kind,
            p.description,
            params.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\nPrint one: jwtshield presets NAME [--param key=value ...]"
    );
    out
}
