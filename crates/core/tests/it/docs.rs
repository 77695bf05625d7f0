//! `docs/api.md` lists every finding code with its check, severity and meaning. The
//! table is generated from `Code::ALL`; run with `JWTSHIELD_BLESS=1` to rewrite it.

use std::fmt::Write;

use jwtshield_core::Code;

const BEGIN: &str = "<!-- codes:begin (generated from Code::ALL; JWTSHIELD_BLESS=1 cargo test -p jwtshield-core docs) -->";
const END: &str = "<!-- codes:end -->";

fn table() -> String {
    let mut t = String::from("| code | check | severity | meaning |\n| --- | --- | --- | --- |\n");
    for c in Code::ALL {
        let _ = writeln!(
            t,
            "| `{}` | `{}` | {} | {} |",
            c.as_str(),
            c.check(),
            c.severity().as_str(),
            c.description().replace('|', "\\|")
        );
    }
    t
}

#[test]
fn api_md_lists_every_finding_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md");
    let doc = std::fs::read_to_string(path).expect("docs/api.md exists");
    let (head, rest) = doc.split_once(BEGIN).expect("begin marker");
    let (_, tail) = rest.split_once(END).expect("end marker");
    let want = format!("{head}{BEGIN}\n{}{END}{tail}", table());
    if std::env::var_os("JWTSHIELD_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
        return;
    }
    assert_eq!(
        doc, want,
        "docs/api.md is out of date: run JWTSHIELD_BLESS=1 cargo test -p jwtshield-core docs"
    );
}
