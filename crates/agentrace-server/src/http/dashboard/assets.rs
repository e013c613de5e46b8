//! The dashboard's files: embedded in the binary at compile time (`dashboard/` of this
//! crate), or read from a folder at each request (`dashboard_dir`, for working on them).
//!
//! Embedded files are served under `/assets/<version>/…`, where the version is a hash of all
//! of them: a file's URL changes whenever any file does, so browsers may cache them forever,
//! and only the page itself (`index.html`, which names the version) is revalidated. Text files
//! are gzipped once, on first request.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

/// What the page loads, and nothing else: not the front end's tests, tools, type declarations
/// (the `.d.ts` beside the vendored modules are for the type check), configurations or
/// `node_modules` (its development tools).
#[derive(RustEmbed)]
#[folder = "dashboard/"]
#[include = "index.html"]
#[include = "favicon.svg"]
#[include = "src/**"]
#[include = "styles/**"]
#[include = "vendor/**"]
#[exclude = "**/*.d.ts"]
#[exclude = "**/*.d.mts"]
struct Embedded;

/// The page's template: `{{base}}` becomes the assets' URL prefix, `{{preload}}` the
/// `modulepreload` links of every module (so the browser fetches them at once, not import by
/// import).
const INDEX: &str = "index.html";

/// One file, ready to send (its bytes shared, never copied per request).
#[derive(Debug)]
pub(crate) struct Asset {
    pub(crate) body: Bytes,
    pub(crate) content_type: &'static str,
    gzip: OnceLock<Option<Bytes>>,
}

impl Asset {
    fn new(path: &str, body: Cow<'static, [u8]>) -> Self {
        Self {
            body: match body {
                Cow::Borrowed(b) => Bytes::from_static(b),
                Cow::Owned(v) => Bytes::from(v),
            },
            content_type: content_type(path),
            gzip: OnceLock::new(),
        }
    }

    /// The body gzipped, when the type compresses and it is smaller.
    pub(crate) fn gzipped(&self) -> Option<Bytes> {
        self.gzip
            .get_or_init(|| {
                if !compresses(self.content_type) {
                    return None;
                }
                let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
                encoder.write_all(&self.body).ok()?;
                let gz = encoder.finish().ok()?;
                (gz.len() < self.body.len()).then(|| Bytes::from(gz))
            })
            .clone()
    }
}

/// Where the files come from.
#[derive(Debug)]
enum Source {
    Embedded(HashMap<String, Asset>),
    /// Read at each request from this folder.
    Folder(PathBuf),
}

/// The dashboard's files and its rendered page.
#[derive(Debug)]
pub(crate) struct Assets {
    source: Source,
    version: String,
    index: Asset,
}

impl Assets {
    /// The files embedded in the binary.
    pub(crate) fn embedded() -> Self {
        let mut files = HashMap::new();
        let mut hasher = Sha256::new();
        let mut names: Vec<_> = Embedded::iter().collect();
        names.sort();
        for name in names {
            if let Some(file) = Embedded::get(&name) {
                hasher.update(name.as_bytes());
                hasher.update(file.metadata.sha256_hash());
                let asset = Asset::new(&name, file.data);
                files.insert(name.into_owned(), asset);
            }
        }
        let version: String = hasher.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let index = render_index(
            files.get(INDEX).map(|a| &a.body[..]),
            &version,
            files.keys(),
        );
        Self {
            source: Source::Embedded(files),
            version,
            index,
        }
    }

    /// The files of `dir`, read at each request (the page too).
    pub(crate) fn folder(dir: PathBuf) -> Self {
        Self {
            source: Source::Folder(dir),
            version: "dev".to_owned(),
            index: Asset::new(INDEX, Cow::Borrowed(b"")),
        }
    }

    /// The version in the assets' URLs.
    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    /// Whether files may be cached forever (embedded) or must be fetched again (a folder).
    pub(crate) fn immutable(&self) -> bool {
        matches!(self.source, Source::Embedded(_))
    }

    /// The page.
    pub(crate) fn index(&self) -> Cow<'_, Asset> {
        match &self.source {
            Source::Embedded(_) => Cow::Borrowed(&self.index),
            Source::Folder(dir) => {
                let names = list(dir);
                let template = std::fs::read(dir.join(INDEX)).ok();
                Cow::Owned(render_index(
                    template.as_deref(),
                    &self.version,
                    names.iter(),
                ))
            }
        }
    }

    /// The file at `path` (relative, `/`-separated), if there is one.
    pub(crate) fn get(&self, path: &str) -> Option<Cow<'_, Asset>> {
        match &self.source {
            Source::Embedded(files) => files.get(path).map(Cow::Borrowed),
            Source::Folder(dir) => {
                let relative = Path::new(path);
                if !relative
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)))
                {
                    return None;
                }
                let body = std::fs::read(dir.join(relative)).ok()?;
                Some(Cow::Owned(Asset::new(path, Cow::Owned(body))))
            }
        }
    }
}

impl Clone for Asset {
    fn clone(&self) -> Self {
        Self {
            body: self.body.clone(),
            content_type: self.content_type,
            gzip: OnceLock::new(),
        }
    }
}

/// Every file under `dir`, relative and `/`-separated.
fn list(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{prefix}{name}");
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                // The front end's development tools (TypeScript, ESLint): never served.
                if name != "node_modules" {
                    walk(&entry.path(), &format!("{path}/"), out);
                }
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out
}

/// The page from its template: the assets' base URL and a `modulepreload` link per module.
fn render_index<'a>(
    template: Option<&[u8]>,
    version: &str,
    names: impl Iterator<Item = &'a String>,
) -> Asset {
    let base = format!("/assets/{version}");
    let mut modules: Vec<&String> = names
        .filter(|n| (n.starts_with("src/") || n.starts_with("vendor/")) && is_module(n))
        .collect();
    modules.sort();
    let preload: String = modules
        .iter()
        .map(|m| format!("<link rel=\"modulepreload\" href=\"{base}/{m}\">\n    "))
        .collect();
    let template = template.map_or(Cow::Borrowed(""), String::from_utf8_lossy);
    let page = template
        .replace("{{preload}}", preload.trim_end())
        .replace("{{base}}", &base);
    Asset::new(INDEX, Cow::Owned(page.into_bytes()))
}

fn is_module(name: &str) -> bool {
    name.ends_with(".js") || name.ends_with(".mjs")
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "png" => "image/png",
        "woff2" => "font/woff2",
        _ => "text/plain; charset=utf-8",
    }
}

fn compresses(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type.starts_with("image/svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_page_names_its_versioned_assets_and_preloads_every_module() {
        let assets = Assets::embedded();
        assert_eq!(assets.version().len(), 16);
        let page = String::from_utf8_lossy(&assets.index().body).into_owned();
        assert!(!page.contains("{{"), "every placeholder is filled: {page}");
        let base = format!("/assets/{}/", assets.version());
        assert!(
            page.contains(&format!("src=\"{base}src/main.js\"")),
            "{page}"
        );
        assert!(page.contains(&format!(
            "rel=\"modulepreload\" href=\"{base}vendor/preact/preact.mjs\""
        )));
        assert!(assets.get("src/main.js").is_some());
        assert!(
            assets.get("vendor/preact/LICENSE").is_some(),
            "licences ship with the code"
        );
        assert!(
            assets.get("README.md").is_none(),
            "only what the page uses is embedded"
        );
        assert!(assets.get("tools/vendor.mjs").is_none());
        assert!(assets.get("package.json").is_none());
        assert!(
            assets.get("vendor/preact/preact.d.mts").is_none(),
            "type declarations are for the type check only"
        );
        assert!(
            !page.contains(".d.mts") && !page.contains(".d.ts"),
            "{page}"
        );
    }

    #[test]
    fn text_is_gzipped_once_and_smaller() {
        let assets = Assets::embedded();
        let Some(uplot) = assets.get("vendor/uplot/uPlot.esm.js") else {
            panic!("uPlot is embedded");
        };
        let gz = uplot.gzipped().map_or(usize::MAX, |gz| gz.len());
        assert!(gz < uplot.body.len() / 2, "{gz} of {}", uplot.body.len());
        assert_eq!(uplot.content_type, "text/javascript; charset=utf-8");
    }

    #[test]
    fn a_folder_serves_only_files_inside_it() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("src"))?;
        std::fs::write(dir.path().join("src/main.js"), "export {}")?;
        std::fs::write(
            dir.path().join(INDEX),
            "<script src=\"{{base}}/src/main.js\"></script>",
        )?;
        let assets = Assets::folder(dir.path().to_owned());
        assert!(!assets.immutable());
        assert_eq!(
            &*assets.index().body,
            b"<script src=\"/assets/dev/src/main.js\"></script>"
        );
        assert!(assets.get("src/main.js").is_some());
        assert!(assets.get("../secret").is_none());
        assert!(assets.get("/etc/passwd").is_none());
        Ok(())
    }
}
