//! The shape of the code, checked: no import circle between the files of
//! any crate, the web edge never depends on storage, and shared kits import
//! no feature. An import is any path a file names into its own crate
//! (`crate::…`, `super::…`, `self::…`, in `use` lists or in code);
//! `mod` declarations and the crate root's re-exports are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: &[&str] = &["domain", "crypto", "store", "app", "web", "pdf", "bench"];

/// A crate's modules: module path (`["patients", "search"]`) -> file.
struct Crate {
    files: BTreeMap<Vec<String>, PathBuf>,
    /// Re-exports by the crate root: name -> the path it names.
    root_exports: BTreeMap<String, Vec<String>>,
}

fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("file under src");
    let mut segs: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = segs.pop().expect("file name");
    match last.as_str() {
        "lib.rs" | "main.rs" | "mod.rs" => {}
        other => segs.push(other.trim_end_matches(".rs").to_owned()),
    }
    segs
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and string literals (paths inside
/// either are not imports).
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'r'
            && (b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // raw string r#"..."# or r"..."
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(b[i] as char);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == b'"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&b'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            out.push_str("' '");
            i += 3;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            // escaped char literal like '\n' or '\''
            let mut j = i + 2;
            while j < b.len() && b[j] != b'\'' {
                j += 1;
            }
            if b.get(j) == Some(&b'\'') && j == i + 2 {
                j += 1;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
            }
            out.push_str("' '");
            i = j + 1;
        } else {
            let ch = text[i..].chars().next().expect("char");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Expand one `use` tree (`a::{b, c::{d, e}}`) into full paths.
fn expand_use(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        return vec![path.to_owned()];
    };
    let prefix = tree[..open].trim_end_matches("::").trim();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    let mut out = Vec::new();
    for p in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        for sub in expand_use(p) {
            if sub == "self" {
                out.push(prefix.to_owned());
            } else if prefix.is_empty() {
                out.push(sub);
            } else {
                out.push(format!("{prefix}::{sub}"));
            }
        }
    }
    out
}

/// Every path a file names that starts with `crate`, `super` or `self`.
fn named_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    // `use` statements, with their brace trees.
    let mut rest = code;
    while let Some(pos) = find_word(rest, "use") {
        let after = &rest[pos + 3..];
        let end = after.find(';').unwrap_or(after.len());
        for p in expand_use(&after[..end]) {
            out.push(p);
        }
        rest = &after[end.min(after.len())..];
    }
    // Paths in code.
    let b = code.as_bytes();
    for root in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(root) {
            let at = from + i;
            from = at + root.len();
            if at > 0
                && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_' || b[at - 1] == b':')
            {
                continue;
            }
            let mut end = at;
            while end < b.len()
                && (b[end].is_ascii_alphanumeric() || b[end] == b'_' || b[end] == b':')
            {
                end += 1;
            }
            out.push(code[at..end].trim_end_matches(':').to_owned());
        }
    }
    out
}

/// The paths of intra-doc links (`` [`crate::a::b`] ``), one per line.
fn doc_links(text: &str) -> String {
    let mut out = String::new();
    for (i, _) in text.match_indices("[`") {
        let rest = &text[i + 2..];
        if let Some(end) = rest.find("`]") {
            let path = &rest[..end];
            if ["crate::", "super::", "self::"]
                .iter()
                .any(|r| path.starts_with(r))
                && path
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == ':')
            {
                out.push_str(path);
                out.push('\n');
            }
        }
    }
    out
}

fn find_word(hay: &str, word: &str) -> Option<usize> {
    let b = hay.as_bytes();
    let mut from = 0;
    while let Some(i) = hay[from..].find(word) {
        let at = from + i;
        let before_ok = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_');
        let after = at + word.len();
        let after_ok = after < b.len() && b[after].is_ascii_whitespace();
        if before_ok && after_ok {
            return Some(at);
        }
        from = after;
    }
    None
}

impl Crate {
    fn load(src: &Path) -> Crate {
        let mut all = Vec::new();
        rust_files(src, &mut all);
        let files: BTreeMap<_, _> = all.into_iter().map(|f| (module_path(src, &f), f)).collect();
        let mut root_exports = BTreeMap::new();
        let root = files.get(&Vec::new()).expect("crate root");
        let code = code_only(&std::fs::read_to_string(root).expect("read root"));
        for line in code.lines() {
            let line = line.trim();
            if let Some(tree) = line.strip_prefix("pub use ") {
                for path in expand_use(tree.trim_end_matches(';')) {
                    let segs: Vec<String> = path.split("::").map(str::to_owned).collect();
                    if let Some(last) = segs.last() {
                        root_exports.insert(last.clone(), segs.clone());
                    }
                }
            }
        }
        Crate {
            files,
            root_exports,
        }
    }

    /// The module a path lands in (the deepest file it names).
    fn resolve(&self, from: &[String], path: &str) -> Option<Vec<String>> {
        let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let (mut cur, rest): (Vec<String>, &[&str]) = match segs.first()? {
            &"crate" => (Vec::new(), &segs[1..]),
            &"self" | &"super" => {
                // `from` is the file's module; `self` is it, each `super` one up.
                let mut m = from.to_vec();
                let mut i = 0;
                while segs.get(i) == Some(&"super") || (i == 0 && segs[0] == "self") {
                    if segs[i] == "super" {
                        m.pop()?;
                    }
                    i += 1;
                }
                (m, &segs[i..])
            }
            _ => return None,
        };
        for (i, s) in rest.iter().enumerate() {
            let mut next = cur.clone();
            next.push((*s).to_owned());
            if self.files.contains_key(&next) {
                cur = next;
            } else if cur.is_empty() && i == 0 {
                // A crate-root re-export: follow it to where it lives.
                let target = self.root_exports.get(*s)?;
                let p = format!("crate::{}", target.join("::"));
                return self.resolve(&[], &p);
            } else {
                break;
            }
        }
        Some(cur)
    }

    fn edges(&self) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
        let mut g = BTreeMap::new();
        for (m, file) in &self.files {
            let text = std::fs::read_to_string(file).expect("read");
            let code = code_only(&text);
            let mut to = BTreeSet::new();
            // Intra-doc links (`[`crate::x`]`) are references too: a doc that
            // points back at its importer ties the two files as an import does.
            let links = doc_links(&text);
            for line_free in [code, links] {
                for p in named_paths(&line_free) {
                    if let Some(t) = self.resolve(m, &p) {
                        // Ancestors are only folders of `mod` lines; a child
                        // importing its parent's folder is not a circle.
                        if &t != m && !m.starts_with(&t) {
                            to.insert(t);
                        }
                    }
                }
            }
            g.insert(m.clone(), to);
        }
        g
    }
}

/// Strongly connected components of more than one file (Tarjan).
fn circles(g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct S<'a> {
        g: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on: BTreeSet<&'a Vec<String>>,
        n: usize,
        out: Vec<Vec<Vec<String>>>,
    }
    fn visit<'a>(s: &mut S<'a>, v: &'a Vec<String>) {
        s.index.insert(v, s.n);
        s.low.insert(v, s.n);
        s.n += 1;
        s.stack.push(v);
        s.on.insert(v);
        let g = s.g;
        if let Some(ws) = g.get(v) {
            for w in ws {
                let Some((w, _)) = g.get_key_value(w) else {
                    continue;
                };
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(lw));
                } else if s.on.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(iw));
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = S {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        n: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn crates() -> Vec<(String, Crate)> {
    let mut out = vec![(
        "clinicos (src/)".to_owned(),
        Crate::load(&workspace().join("src")),
    )];
    for name in CRATES {
        let src = workspace().join("crates").join(name).join("src");
        if src.is_dir() {
            out.push(((*name).to_owned(), Crate::load(&src)));
        }
    }
    out
}

fn show(m: &[String]) -> String {
    if m.is_empty() {
        "(root)".to_owned()
    } else {
        m.join("::")
    }
}

#[test]
fn no_import_circle_inside_any_crate() {
    let mut report = Vec::new();
    for (name, c) in crates() {
        let g = c.edges();
        for comp in circles(&g) {
            let files: Vec<String> = comp.iter().map(|m| show(m)).collect();
            report.push(format!("{name}: {}", files.join(" <-> ")));
            for from in &comp {
                for to in g[from].iter().filter(|t| comp.contains(t)) {
                    report.push(format!("    {} -> {}", show(from), show(to)));
                }
            }
        }
    }
    assert!(report.is_empty(), "import circles:\n{}", report.join("\n"));
}

#[test]
fn kits_import_no_feature() {
    let mut report = Vec::new();
    for (name, c) in crates() {
        for (m, to) in c.edges() {
            if m.first().map(String::as_str) != Some("kit") {
                continue;
            }
            for t in to {
                if t.first().map(String::as_str) != Some("kit") && !t.is_empty() {
                    report.push(format!("{name}: {} imports {}", show(&m), show(&t)));
                }
            }
        }
    }
    assert!(
        report.is_empty(),
        "kit modules importing features:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_checker_finds_a_circle_and_follows_use_trees() {
    let mut g = BTreeMap::new();
    let a = vec!["a".to_owned()];
    let b = vec!["b".to_owned()];
    let c = vec!["c".to_owned()];
    g.insert(a.clone(), BTreeSet::from([b.clone()]));
    g.insert(b.clone(), BTreeSet::from([c.clone()]));
    g.insert(c.clone(), BTreeSet::from([a.clone()]));
    assert_eq!(circles(&g), vec![vec![a.clone(), b.clone(), c.clone()]]);
    g.insert(c.clone(), BTreeSet::new());
    assert!(circles(&g).is_empty());
    assert_eq!(
        expand_use("crate::{kit::page::{render, Chrome}, patients::search as s, self}"),
        vec![
            "crate::kit::page::render",
            "crate::kit::page::Chrome",
            "crate::patients::search",
            "crate"
        ]
    );
    assert_eq!(
        doc_links("//! See [`crate::kit::page`] and [`Chrome`], not [`std::fmt`]."),
        "crate::kit::page\n"
    );
    let code = code_only("// crate::x\nlet s = \"crate::y\"; crate::z::f();");
    assert_eq!(named_paths(&code), vec!["crate::z::f"]);
}

/// Every file under `dir` (recursively) with one of `exts`.
fn files_with(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_with(&p, exts, out);
        } else if p
            .extension()
            .is_some_and(|x| exts.iter().any(|want| x == *want))
        {
            out.push(p);
        }
    }
}

/// The files of `krate` (its Cargo.toml and sources) that contain `needle`.
fn files_naming(krate: &str, needle: &str) -> Vec<String> {
    let root = workspace().join("crates").join(krate);
    let mut files = vec![root.join("Cargo.toml")];
    files_with(&root.join("src"), &["rs"], &mut files);
    files
        .into_iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .expect("read crate file")
                .contains(needle)
        })
        .map(|f| f.display().to_string())
        .collect()
}

/// The web edge reaches storage only through the application services:
/// API and page types come from `clinicos-app`, so a storage change cannot
/// silently change what clients see.
#[test]
fn web_does_not_depend_on_store() {
    let manifest = std::fs::read_to_string(workspace().join("crates/web/Cargo.toml"))
        .expect("read crates/web/Cargo.toml");
    let lines: Vec<&str> = manifest
        .lines()
        .filter(|l| l.contains("clinicos-store"))
        .collect();
    assert!(
        lines.is_empty(),
        "crates/web/Cargo.toml names clinicos-store: {lines:?}"
    );
    let mut sources = Vec::new();
    files_with(&workspace().join("crates/web/src"), &["rs"], &mut sources);
    assert!(!sources.is_empty(), "no web sources found");
    let naming: Vec<String> = sources
        .iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .expect("read web source")
                .contains("clinicos_store")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        naming.is_empty(),
        "web sources naming clinicos_store: {naming:?}"
    );
}

/// The API document is described in the application and web crates only:
/// storage rows and domain rules carry no OpenAPI schema.
#[test]
fn store_and_domain_do_not_describe_the_api() {
    let mut report = Vec::new();
    for krate in ["store", "domain"] {
        report.extend(files_naming(krate, "utoipa"));
    }
    assert!(report.is_empty(), "files naming utoipa: {report:?}");
}

/// Path parameters are read one way: every API handler and page takes
/// them through `kit::ids::InPath`, so an id is a typed id parsed by one
/// rule (400 `INVALID_ID` when malformed), never a string compared as is.
#[test]
fn web_reads_path_parameters_only_through_in_path() {
    let mut sources = Vec::new();
    files_with(&workspace().join("crates/web/src"), &["rs"], &mut sources);
    let offenders: Vec<String> = sources
        .iter()
        .filter(|f| !f.ends_with("kit/ids.rs"))
        .filter(|f| {
            let code = code_only(&std::fs::read_to_string(f).expect("read web source"));
            code.contains("extract::Path")
                || code
                    .match_indices("Path<")
                    .any(|(at, _)| !code[..at].ends_with("In"))
                || code
                    .match_indices("Path(")
                    .any(|(at, _)| !code[..at].ends_with("In") && !code[..at].ends_with("RawPath"))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "web sources reading the path without InPath: {offenders:?}"
    );
}
