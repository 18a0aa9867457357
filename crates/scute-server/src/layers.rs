//! The dependency rule of this crate, checked: every module belongs to one layer, and a module
//! may name (through `crate::…` or `super::…` paths, `use` trees included) only modules of its
//! own layer or below. Top to bottom:
//!
//! | layer | modules | what it owns |
//! |---|---|---|
//! | 5 | the crate root (`lib.rs`) | `start`, `Running`, the offline import commands |
//! | 4 | `http` | routes, extractors, handlers, shared state, problem JSON, TLS, serving |
//! | 3 | `domain` | the appraisal pipeline, attestation, policies, tokens, nonces, KBS sessions |
//! | 2 | `tee` | what verifying each TEE's evidence needs from the service |
//! | 1 | `collateral`, `metrics`, `platforms` | stored and fetched endorsements, the bounded upstream fetcher, counters, the platforms table |
//! | 0 | `problem`, `error`, `config`, `store`, `secrets`, `log`, `clock` | the base |
//!
//! A new module must be placed in the table, or this test fails; so must a path that names a
//! module above its own (the fix is to move the code down, or pass what it needs as an
//! argument). Only the crate's own source is read, after dropping comments and the `tests`
//! modules at the bottom of files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layer of a module path (its first segment decides; the root is `""`).
fn layer(module: &str) -> Option<u8> {
    let first = module.split("::").next().unwrap_or_default();
    Some(match first {
        "" => 5,
        "http" => 4,
        "domain" => 3,
        "tee" => 2,
        "collateral" | "metrics" | "platforms" => 1,
        "problem" | "error" | "config" | "store" | "secrets" | "log" | "clock" => 0,
        "layers" => 5,
        _ => return None,
    })
}

/// Inline modules that name nothing of the crate (checked by hand when added).
const ALLOWED_INLINE: &[&str] = &[
    // http/openapi.rs: utoipa's path declarations, which name handler types only.
    "mod routes {",
];

/// Every `.rs` file under `src`, with its module path (`http/pccs/mod.rs` → `http::pccs`).
fn modules(src: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path
                .strip_prefix(src)
                .expect("under src")
                .with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            out.push((parts.join("::"), path));
        }
    }
    out.sort();
    out
}

/// The source that counts: no comments, and no `#[cfg(test)] mod NAME { … }` (each cut to its
/// own closing brace, wherever it stands; a `#[cfg(test)] mod NAME;` declaration is kept out
/// too, and the rest of the file still counts).
fn code(text: &str) -> String {
    let mut text = text.to_string();
    while let Some(start) = text.find("#[cfg(test)]\nmod ") {
        let after = start + "#[cfg(test)]\n".len();
        let Some(open) = text[after..].find(['{', ';']).map(|i| after + i) else {
            break;
        };
        let end = if text[open..].starts_with(';') {
            open + 1
        } else {
            let mut depth = 0usize;
            let mut end = text.len();
            for (i, c) in text[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            end
        };
        text.replace_range(start..end, "");
    }
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string literal (a URL) cuts the line short; that only hides
            // the rest of that line, which in this crate is never a path.
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a use tree or path expression starting at `rest` names, expanded over braces,
/// as module-ish segment lists (identifiers only; stops at anything else).
fn expand(rest: &str) -> Vec<Vec<String>> {
    fn parse(chars: &[char], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        let at = |j: usize| chars.get(j).copied();
        if at(*i) == Some('{') {
            // `crate::{a, b::c}`: a group right after the anchor.
            *i += 1;
            loop {
                while at(*i).is_some_and(|c| c.is_whitespace() || c == ',') {
                    *i += 1;
                }
                if at(*i) == Some('}') || at(*i).is_none() {
                    *i += 1;
                    return;
                }
                let before = *i;
                parse(chars, i, &path, out);
                while at(*i).is_some_and(|c| c != ',' && c != '}') {
                    *i += 1;
                }
                if *i == before {
                    *i += 1;
                }
            }
        }
        loop {
            let start = *i;
            while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_') {
                *i += 1;
            }
            if *i > start {
                path.push(chars[start..*i].iter().collect());
            }
            if at(*i) == Some(':') && at(*i + 1) == Some(':') {
                *i += 2;
                while at(*i).is_some_and(char::is_whitespace) {
                    *i += 1;
                }
                if at(*i) == Some('{') {
                    *i += 1;
                    loop {
                        while at(*i).is_some_and(|c| c.is_whitespace() || c == ',') {
                            *i += 1;
                        }
                        if at(*i) == Some('}') || at(*i).is_none() {
                            *i += 1;
                            break;
                        }
                        let before = *i;
                        parse(chars, i, &path, out);
                        // Skip `as name` and anything unparsed up to the next item.
                        while at(*i).is_some_and(|c| c != ',' && c != '}') {
                            *i += 1;
                        }
                        if *i == before {
                            *i += 1;
                        }
                    }
                    return;
                }
                continue;
            }
            out.push(path);
            return;
        }
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut out = Vec::new();
    parse(&chars, &mut 0, &[], &mut out);
    out
}

/// The longest known module that `segments` (relative to the crate root) starts with.
fn resolve(segments: &[String], known: &BTreeSet<String>) -> String {
    for n in (0..=segments.len()).rev() {
        let candidate = segments[..n].join("::");
        if known.contains(&candidate) {
            return candidate;
        }
    }
    String::new()
}

#[test]
fn no_module_names_a_module_of_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    let known: BTreeSet<String> = modules.iter().map(|(m, _)| m.clone()).collect();
    let mut violations = Vec::new();
    for (module, path) in &modules {
        if module == "layers" {
            continue; // this test: its strings name what it looks for
        }
        let Some(own) = layer(module) else {
            violations.push(format!("{module}: not placed in a layer (src/layers.rs)"));
            continue;
        };
        let text = code(&std::fs::read_to_string(path).expect("read module"));
        let parent: Vec<String> = module
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let mut named = BTreeSet::new();
        for (anchor, base) in [("crate::", Vec::new()), ("super::", parent.clone())] {
            let mut from = 0;
            while let Some(i) = text[from..].find(anchor) {
                let at = from + i;
                from = at + anchor.len();
                // `crate::` inside a longer identifier (`scute_crate::`) is not ours, nor is a
                // `super::` inside a longer path (`super::super::`: its first one counts it).
                if text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                {
                    continue;
                }
                let mut base = base.clone();
                if anchor == "super::" {
                    // The parent of this file's module (`a/mod.rs` is module `a` itself).
                    base.pop();
                }
                for tail in expand(&text[from..]) {
                    let mut full = base.clone();
                    let mut tail = tail.into_iter().peekable();
                    // `super::super::…`: one parent further for each.
                    while anchor == "super::" && tail.peek().is_some_and(|s| s == "super") {
                        tail.next();
                        full.pop();
                    }
                    full.extend(tail);
                    named.insert(resolve(&full, &known));
                }
            }
        }
        // An alias of the crate root (`use crate as root;`) or a module defined inline would
        // name modules this reading cannot place: refused, so the rule stays checkable.
        if text.contains("crate as ") {
            violations.push(format!("{module}: aliases the crate root (`crate as`)"));
        }
        for line in text.lines() {
            let line = line.trim_start();
            let inline = line.starts_with("mod ") || line.starts_with("pub(crate) mod ");
            if inline
                && line.trim_end().ends_with('{')
                && !ALLOWED_INLINE.contains(&line.trim_end())
            {
                violations.push(format!("{module}: an inline module (`{line}`)"));
            }
        }
        for target in named {
            if target == *module || module.starts_with(&format!("{target}::")) {
                continue; // itself or its own parent (re-exported items of a directory)
            }
            match layer(&target) {
                Some(theirs) if theirs <= own => {}
                Some(theirs) => violations.push(format!(
                    "{module} (layer {own}) names {} (layer {theirs})",
                    if target.is_empty() {
                        "the crate root"
                    } else {
                        &target
                    }
                )),
                None => violations.push(format!("{target}: not placed in a layer")),
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependency rule broken (src/layers.rs):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_rule_catches_an_upward_path_and_a_use_tree() {
    let known: BTreeSet<String> = ["", "http", "http::kbs", "domain", "domain::pipeline"]
        .into_iter()
        .map(String::from)
        .collect();
    let named: Vec<String> = expand("http::{kbs::Broker, state}, x")
        .iter()
        .map(|p| resolve(p, &known))
        .collect();
    assert_eq!(named, ["http::kbs", "http"]);
    assert_eq!(layer("http::kbs"), Some(4));
    assert!(layer("domain::pipeline") < layer("http::kbs"));
    assert_eq!(layer("somewhere_new"), None);
    assert_eq!(
        code("use crate::x; // crate::y\n#[cfg(test)]\nmod tests { crate::z { } }\nuse crate::w;"),
        "use crate::x; \n\nuse crate::w;"
    );
    assert_eq!(
        code("#[cfg(test)]\nmod layers;\nuse crate::v;"),
        "\nuse crate::v;"
    );
}
