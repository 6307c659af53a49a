//! The web page in a real browser: headless Chromium loads it from a real server, runs its scripts,
//! and the resulting DOM is checked. Needs Debian's `chromium` (`.ci/run` installs it); without it the
//! tests say so and pass, unless `YUSA_REQUIRE_BROWSER=1` (CI) makes a missing browser a failure.

mod common;

use common::http::{post, Server};
use std::process::Command;

fn chromium() -> Option<&'static str> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    if found.is_none() {
        assert!(
            std::env::var("YUSA_REQUIRE_BROWSER").is_err(),
            "YUSA_REQUIRE_BROWSER is set but chromium is not installed"
        );
        eprintln!("chromium not installed: browser tests skipped (apt-get install chromium)");
    }
    found
}

/// The DOM after the page's scripts ran.
fn dom(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn search_link_shows_the_hits_and_errors_show_a_message() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name":"faq"}"#).status, 201);
    let r = post(
        p,
        "/collections/faq/documents",
        r#"{"documents":[{"id":"q1","text":"비밀번호를 잊어버렸어요"},{"id":"q2","text":"배송은 얼마나 걸리나요?"}]}"#,
    );
    assert_eq!(r.status, 200);
    // A shared search link: the page runs the search and shows every hit, the query's terms marked.
    let page = dom(
        browser,
        &format!(
            "http://127.0.0.1:{p}/?collection=faq&q={}&mode=lexical",
            url_encode("비밀번호")
        ),
    );
    assert!(
        page.contains(r#"data-ready="1""#),
        "the page's script did not finish:\n{page}"
    );
    assert!(
        page.contains("<mark>비밀번호</mark>를 잊어버렸어요"),
        "{page}"
    );
    // The collections page lists the collection with its size.
    let page = dom(browser, &format!("http://127.0.0.1:{p}/?page=collections"));
    assert!(page.contains(r#"data-ready="1""#));
    assert!(
        page.contains(">faq</a>") && page.contains("<td>2</td>"),
        "{page}"
    );
    // An unknown collection: a clear message, not a blank page.
    let page = dom(
        browser,
        &format!("http://127.0.0.1:{p}/?collection=nope&q=x"),
    );
    assert!(page.contains(r#"class="msg error""#), "{page}");
    assert!(page.contains("not found"), "{page}");
}
