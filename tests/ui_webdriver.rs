//! The web page driven like a person would, in a real browser: Debian's chromedriver and headless
//! Chromium over WebDriver (fantoccini). Every page is loaded, forms are filled and buttons clicked,
//! and the resulting state is checked through the JSON API. A script error on any page fails the
//! test (the page records them in `window.__yusaErrors`).
//!
//! Needs `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the test says so and
//! passes, unless `YUSA_REQUIRE_BROWSER=1` (CI). `YUSA_SCREENSHOTS=DIR` saves a PNG of each page.

mod common;

use common::http::{delete, get, post, Server};
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DRIVER: &str = "/usr/bin/chromedriver";
const BROWSER: &str = "/usr/bin/chromium";

fn installed() -> bool {
    let ok = std::path::Path::new(DRIVER).exists() && std::path::Path::new(BROWSER).exists();
    if !ok {
        assert!(
            std::env::var("YUSA_REQUIRE_BROWSER").is_err(),
            "YUSA_REQUIRE_BROWSER is set but chromium / chromium-driver are not installed"
        );
        eprintln!("chromium-driver not installed: WebDriver tests skipped (apt-get install chromium chromium-driver)");
    }
    ok
}

/// A chromedriver process on a free port, killed on drop.
struct Driver(Child, u16);

impl Driver {
    fn start() -> Driver {
        let port = common::http::free_port();
        let child = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver(child, port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": BROWSER,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1100,1400", format!("--user-data-dir={}", profile.display())]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("WebDriver session")
}

/// Test steps against one page session.
struct Page {
    c: Client,
    base: String,
    shots: Option<std::path::PathBuf>,
}

impl Page {
    /// Loads `?query` and waits until the page's script finished rendering. The page being left is
    /// checked for script errors first (a handler may have failed after its own checks).
    async fn open(&self, query: &str) {
        let before = self
            .c
            .execute("return window.__yusaErrors || [];", vec![])
            .await
            .unwrap();
        assert_eq!(
            before,
            serde_json::json!([]),
            "script errors before ?{query}"
        );
        self.c
            .goto(&format!("{}/?{query}", self.base))
            .await
            .unwrap();
        self.c
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("body[data-ready='1']"))
            .await
            .unwrap_or_else(|e| panic!("?{query}: the page's script never finished: {e}"));
        self.no_script_errors(query).await;
    }

    async fn no_script_errors(&self, context: &str) {
        let errors = self
            .c
            .execute("return window.__yusaErrors || ['no error hook'];", vec![])
            .await
            .unwrap();
        assert_eq!(errors, serde_json::json!([]), "script errors on {context}");
    }

    async fn click(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn fill(&self, css: &str, text: &str) {
        let el = self.c.find(Locator::Css(css)).await.unwrap();
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    /// The text of `css` once it contains `want` (waits up to 20 s).
    async fn wait_text(&self, css: &str, want: &str) -> String {
        let t0 = Instant::now();
        loop {
            let text = match self.c.find(Locator::Css(css)).await {
                Ok(el) => el.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(want) {
                return text;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "{css} never showed {want:?}; it shows {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Picks a file in the ingest page's file input.
    async fn upload(&self, path: &std::path::Path) {
        self.c
            .find(Locator::Css("#file"))
            .await
            .unwrap()
            .send_keys(path.to_str().unwrap())
            .await
            .unwrap();
    }

    async fn shot(&self, name: &str) {
        if let Some(dir) = &self.shots {
            std::fs::create_dir_all(dir).unwrap();
            let png = self.c.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }
}

fn count(port: u16, collection: &str) -> u64 {
    get(
        port,
        &format!("/collections/{collection}/documents?limit=1"),
    )
    .json()["total"]
        .as_u64()
        .unwrap()
}

/// Runs `walk` in a fresh browser session on the server at `port`. The walk runs as its own task so
/// that the session is closed (and Chromium exits) whether it passes or fails.
async fn in_browser<F, Fut>(port: u16, shots: Option<std::path::PathBuf>, walk: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver::start();
    let client = browser(&driver, profile.path()).await;
    let page = Page {
        c: client.clone(),
        base: format!("http://127.0.0.1:{port}"),
        shots,
    };
    let result = tokio::spawn(walk(page)).await;
    let _ = client.close().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_can_do_every_task_in_the_browser() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let p = server.port;
    let shots = std::env::var_os("YUSA_SCREENSHOTS").map(Into::into);
    let folder = dir.path().to_owned();
    in_browser(p, shots, |page| walk_through(page, p, folder)).await;
    drop(server);
}

/// Every task of the web page, in order, each checked through the API.
async fn walk_through(page: Page, p: u16, dir: std::path::PathBuf) {
    // Collections: create one through the form.
    page.open("page=collections").await;
    page.fill("#name", "faq").await;
    page.click("#create").await;
    page.wait_text("#out", "faq").await;
    assert!(get(p, "/collections").body.contains(r#""name":"faq""#));
    // The form asks what a collection is for, in the user's words: "answers in long documents"
    // makes a question → passage collection.
    page.fill("#name", "manuals").await;
    page.click("input[name=purpose][value=questions]").await;
    page.click("#create").await;
    page.wait_text("#out", "manuals").await;
    let list = get(p, "/collections").json();
    let role = |name: &str| {
        list["collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["doc_role"].clone())
    };
    assert_eq!(role("faq"), Some(serde_json::json!("symmetric")));
    assert_eq!(role("manuals"), Some(serde_json::json!("asymmetric")));
    // A long document's hit shows the passage that matched, the query's words marked, and the whole
    // document on request.
    let manual = (0..40)
        .map(|i| format!("{i}절. 기기 설정 방법을 차례로 설명합니다. "))
        .collect::<String>()
        + "마지막 절. 필터는 석 달마다 교체하세요.";
    let body = serde_json::json!({"documents": [{"id": "m1", "text": manual}]});
    assert_eq!(
        post(p, "/collections/manuals/documents", &body.to_string()).status,
        200
    );
    // 필터 교체
    page.open(
        "page=search&collection=manuals&q=%ED%95%84%ED%84%B0%20%EA%B5%90%EC%B2%B4&mode=lexical",
    )
    .await;
    let shown = page.wait_text("#out .passage", "필터는 석 달마다").await;
    assert!(
        shown.chars().count() <= 500,
        "the passage, not the document: {shown}"
    );
    page.wait_text("#out .passage mark", "필터").await;
    page.wait_text("#out details.whole summary", "문서 전체 보기")
        .await;
    assert_eq!(delete(p, "/collections/manuals").status, 200);

    // Ingest: a JSONL file with one bad line; the rest goes in and the bad line is reported.
    let upload = dir.join("faq.jsonl");
    let lines = [
        r#"{"id": "p1", "text": "비밀번호를 잊어버렸어요", "metadata": {"topic": "account"}}"#,
        r#"{"id": "p2", "text": "비밀번호를 잊어버렸어요", "metadata": {"topic": "account"}}"#,
        r#"{"id": "s1", "text": "배송은 얼마나 걸리나요?", "metadata": {"topic": "shipping"}}"#,
        r#"{"id": "s2", "text": "배송은 얼마나 걸리나요?", "metadata": {"topic": "shipping"}}"#,
        r#"{"id": "r1", "text": "환불은 어떻게 받나요", "metadata": {"topic": "billing"}}"#,
        r#"{"id": "bad", "text": ""#,
        r#"{"id": "c1", "text": "주문을 취소하고 싶어요", "metadata": {"topic": "billing"}}"#,
    ];
    std::fs::write(&upload, lines.join("\n")).unwrap();
    page.open("page=ingest&collection=faq").await;
    page.upload(&upload).await;
    page.click("#go").await;
    let summary = page.wait_text("#out", "오류 1").await;
    assert!(summary.contains("추가 6"), "{summary}");
    page.wait_text("#out table", "6").await; // the bad line's number
    assert_eq!(count(p, "faq"), 6);
    page.shot("ingest").await;
    // A second file with "skip duplicates": the repeated question is reported, not stored.
    let second = dir.join("more.jsonl");
    std::fs::write(
        &second,
        "{\"id\": \"r2\", \"text\": \"환불은 어떻게 받나요\"}\n{\"id\": \"n1\", \"text\": \"영수증을 다시 받을 수 있나요\"}\n",
    )
    .unwrap();
    page.open("page=ingest&collection=faq").await;
    page.c
        .find(Locator::Css("#ondup"))
        .await
        .unwrap()
        .select_by_value("skip")
        .await
        .unwrap();
    page.upload(&second).await;
    page.click("#go").await;
    let summary = page.wait_text("#out", "건너뜀 1").await;
    assert!(summary.contains("추가 1"), "{summary}");
    assert_eq!(count(p, "faq"), 7);
    assert_eq!(get(p, "/collections/faq/documents/r2").status, 404);

    // Search: a shared link runs the search; the form updates the link; a filter narrows the hits.
    page.open("page=search&collection=faq&q=%EB%B9%84%EB%B0%80%EB%B2%88%ED%98%B8&mode=lexical")
        .await;
    let hits = page.wait_text("#out", "비밀번호를 잊어버렸어요").await;
    assert!(
        !hits.contains("배송"),
        "lexical search for 비밀번호: {hits}"
    );
    page.fill("#q", "환불").await;
    page.fill("#filter", "topic=billing").await;
    page.click("#f button").await;
    let hits = page.wait_text("#out", "환불은 어떻게 받나요").await;
    assert!(
        !hits.contains("배송") && !hits.contains("비밀번호"),
        "{hits}"
    );
    let url = page.c.current_url().await.unwrap().to_string();
    assert!(
        url.contains("filter=topic%3Dbilling") && url.contains("q=%ED%99%98%EB%B6%88"),
        "{url}"
    );
    page.shot("search").await;
    // Bad input: an empty query gets a message, not a request.
    page.fill("#q", " ").await;
    page.click("#f button").await;
    page.wait_text("#out .msg.error", "검색어").await;

    // Compare: two texts → a score, a decision with its reason, the differing spans.
    page.open("page=compare").await;
    page.click("#go").await;
    let verdict = page.wait_text("#out", "다른 부분").await;
    assert!(verdict.contains("중복"), "{verdict}");
    assert!(
        page.c.find(Locator::Css("#out .ins")).await.is_ok(),
        "the differing span is highlighted"
    );
    page.shot("compare").await;

    // Check before adding: one known text, one new; then add only the new one.
    page.open("page=check&collection=faq").await;
    page.fill(
        "#texts",
        "주문을 취소하고 싶어요\n회원 탈퇴는 어디서 하나요",
    )
    .await;
    page.click("#go").await;
    let result = page.wait_text("#out", "새 문장").await;
    assert!(result.contains("중복 1건"), "{result}");
    page.click("#add").await;
    page.wait_text("#out", "1건 추가").await;
    assert_eq!(count(p, "faq"), 8);

    // Duplicates review: two clusters (the repeated texts); one ruled "not duplicates", one kept once.
    page.open("page=duplicates&collection=faq").await;
    page.click("#go").await;
    page.wait_text("#out", "2개 묶음").await;
    page.shot("duplicates").await;
    let first = page
        .c
        .find(Locator::Css("#out .cluster"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (kept_topic, apart_topic) = if first.contains("비밀번호") {
        ("비밀번호", "배송")
    } else {
        ("배송", "비밀번호")
    };
    // The first cluster: keep its checked member, delete the other (a confirmation dialog).
    page.click("#out [data-keep='0']").await;
    page.c.accept_alert().await.unwrap();
    page.wait_text("#prog", "삭제했습니다").await;
    assert_eq!(count(p, "faq"), 7);
    // The other: not duplicates (after a confirmation too).
    page.click("#out [data-skip='0']").await;
    page.c.accept_alert().await.unwrap();
    page.wait_text("#prog", "중복 아님으로 저장").await;
    let decisions = get(p, "/collections/faq/duplicates/decisions").json();
    let d = decisions["decisions"].as_array().unwrap();
    assert_eq!(d.len(), 2, "{decisions}");
    assert_eq!(d[0]["verdict"], "duplicates");
    assert!(d[0]["members"][0]["text"]
        .as_str()
        .unwrap()
        .contains(kept_topic));
    assert_eq!(d[1]["verdict"], "not_duplicates");
    assert!(d[1]["members"][0]["text"]
        .as_str()
        .unwrap()
        .contains(apart_topic));
    // The decisions as labelled pairs for calibration: one duplicate pair, one non-duplicate pair.
    let pairs = get(p, "/collections/faq/duplicates/decisions?as=pairs").body;
    assert_eq!(pairs.lines().count(), 2, "{pairs}");
    assert!(pairs.contains(r#""label":1"#) && pairs.contains(r#""label":0"#));
    // A new scan shows neither cluster again, and the job list shows both scans.
    page.click("#go").await;
    page.wait_text("#out", "중복 묶음이 없습니다").await;
    page.wait_text("#jobs", "duplicates-scan").await;
    page.no_script_errors("duplicates").await;

    // Bad input: unknown collection, an oversized upload.
    page.open("page=search&collection=nope&q=x").await;
    // In Korean, with the server's own detail after it.
    page.wait_text("#out .msg.error", "찾을 수 없습니다").await;
    page.wait_text("#out .msg.error", "not found").await;
    let big = dir.join("big.jsonl");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(51_000_000)
        .unwrap();
    page.open("page=ingest&collection=faq").await;
    page.upload(&big).await;
    page.click("#go").await;
    page.wait_text("#out .msg.error", "너무 큽니다").await;
    assert_eq!(count(p, "faq"), 7);

    // Collections: delete through the page (after a confirmation).
    page.open("page=collections").await;
    page.click("[data-del='faq']").await;
    page.c.accept_alert().await.unwrap();
    page.wait_text("#out", "컬렉션이 없습니다").await;
    assert_eq!(delete(p, "/collections/faq").status, 404);
    assert!(post(p, "/collections", r#"{"name":"faq"}"#).status < 300);
    page.no_script_errors("collections").await;
}

/// With API keys, the page first says a key is needed (in Korean); a key typed into the key field
/// takes effect at once, without the person reloading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_key_takes_effect_at_once() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::write(&keys, "admin:page-test-key-0123456789\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let index = dir.path().join("index");
    let server = Server::start(&index, &["--api-keys-file", keys.to_str().unwrap()]);
    in_browser(server.port, None, |page| async move {
        page.open("page=collections").await;
        page.wait_text("#out .msg.error", "API 키가 필요합니다")
            .await;
        page.fill("#key", "page-test-key-0123456789\u{E007}").await;
        page.wait_text("#out", "컬렉션이 없습니다").await;
    })
    .await;
    drop(server);
}

/// A CSV whose text column is not called `text` (ChatbotData's `Q`): the person names the column,
/// and the other columns become metadata — as `yusa index --text-column Q` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_reads_the_column_the_person_names() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("index"), &[]);
    let p = server.port;
    assert_eq!(post(p, "/collections", r#"{"name":"chat"}"#).status, 201);
    let csv = dir.path().join("chat.csv");
    std::fs::write(
        &csv,
        "Q,A,label\n환불 되나요?,네 됩니다,0\n배송은 얼마나 걸려요?,사흘쯤,0\n",
    )
    .unwrap();
    in_browser(server.port, None, |page| async move {
        page.open("page=ingest&collection=chat").await;
        // Without naming the column, the error lists the file's columns.
        page.upload(&csv).await;
        page.click("#go").await;
        page.wait_text("#out", "열: Q, A, label").await;
        page.open("page=ingest&collection=chat").await;
        page.fill("#textcol", "Q").await;
        page.upload(&csv).await;
        page.click("#go").await;
        page.wait_text("#out", "추가 2").await;
        assert_eq!(count(p, "chat"), 2);
        let docs = get(p, "/collections/chat/documents").json();
        assert_eq!(docs["documents"][0]["text"], "환불 되나요?", "{docs}");
        assert_eq!(docs["documents"][0]["metadata"]["A"], "네 됩니다", "{docs}");
    })
    .await;
    drop(server);
}

/// A scan of 60 duplicate pairs: the clusters come 50 at a time ("더 보기" shows the rest), and a
/// finished scan's results reopen from the job list after the page was left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_results_page_and_reopen() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("index"), &[]);
    let p = server.port;
    assert_eq!(post(p, "/collections", r#"{"name":"many"}"#).status, 201);
    let docs: Vec<serde_json::Value> = (0..60)
        .flat_map(|i| {
            let text = format!(
                "문의 번호 {i}번은 어떻게 처리되나요 {}",
                "가나다라마바사".repeat(i % 7 + 1)
            );
            [
                serde_json::json!({"id": format!("a{i}"), "text": text.clone()}),
                serde_json::json!({"id": format!("b{i}"), "text": format!("{text}!")}),
            ]
        })
        .collect();
    let r = post(
        p,
        "/collections/many/documents",
        &serde_json::json!({ "documents": docs }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    in_browser(server.port, None, |page| async move {
        page.open("page=duplicates&collection=many").await;
        page.click("#go").await;
        page.wait_text("#out", "60개 묶음 (처음 50개)").await;
        let count_clusters = || async {
            page.c
                .find_all(Locator::Css("#out .cluster"))
                .await
                .unwrap()
                .len()
        };
        assert_eq!(count_clusters().await, 50);
        page.click("#more").await;
        page.wait_text("#out", "60개 묶음").await;
        assert_eq!(count_clusters().await, 60);
        // Leave the page, come back: the finished scan reopens from the job list.
        page.open("page=collections").await;
        page.open("page=duplicates").await;
        page.wait_text("#jobs", "결과 보기").await;
        page.click("#jobs [data-open]").await;
        page.wait_text("#out", "60개 묶음 (처음 50개)").await;
        page.wait_text("#prog", "many").await;
        // "중복 아님", then 되돌리기: the decision is withdrawn, the cluster comes back.
        page.click("#out [data-skip='0']").await;
        page.c.accept_alert().await.unwrap();
        page.wait_text("#prog", "중복 아님으로 저장").await;
        page.wait_text("#out", "59개 묶음").await;
        page.click("#undo").await;
        page.wait_text("#prog", "되돌렸습니다").await;
        page.wait_text("#out", "60개 묶음").await;
        let d = get(p, "/collections/many/duplicates/decisions").json();
        let verdicts: Vec<&str> = d["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["verdict"].as_str().unwrap())
            .collect();
        assert_eq!(verdicts, ["not_duplicates", "withdrawn"], "{d}");
        let pairs = get(p, "/collections/many/duplicates/decisions?as=pairs");
        assert_eq!(
            pairs.body.trim(),
            "",
            "the withdrawn pair is no labelled pair"
        );
        page.no_script_errors("duplicates").await;
    })
    .await;
    drop(server);
}

/// Check before adding, a flag overruled: the text is stored and the person's verdict kept as a
/// "not duplicates" decision with the document it was flagged against — a labelled pair for
/// calibration, and a pair the next scan leaves alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_overruled_on_the_check_page_is_kept_as_a_decision() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let p = server.port;
    assert_eq!(post(p, "/collections", r#"{"name":"faq"}"#).status, 201);
    let r = post(
        p,
        "/collections/faq/documents",
        r#"{"documents": [{"id": "q1", "text": "주문을 취소하고 싶어요"}, {"id": "q2", "text": "배송은 얼마나 걸리나요"}]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    in_browser(p, None, |page| async move {
        page.open("page=check&collection=faq").await;
        page.fill("#texts", "주문을 취소하고 싶어요").await;
        page.click("#go").await;
        page.wait_text("#out", "중복 1건").await;
        page.click("#out [data-overrule='0']").await;
        page.wait_text("#out", "중복 아님으로 추가했습니다").await;
        page.no_script_errors("check").await;
    })
    .await;
    assert_eq!(count(p, "faq"), 3);
    let decisions = get(p, "/collections/faq/duplicates/decisions").json();
    let d = decisions["decisions"].as_array().unwrap();
    assert_eq!(d.len(), 1, "{decisions}");
    assert_eq!(d[0]["verdict"], "not_duplicates");
    let ids: Vec<&str> = d[0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"q1") && ids.len() == 2, "{decisions}");
    let pairs = get(p, "/collections/faq/duplicates/decisions?as=pairs").body;
    assert_eq!(pairs.lines().count(), 1, "{pairs}");
    assert!(pairs.contains(r#""label":0"#), "{pairs}");
    drop(server);
}

/// The scan page retrains the collection's threshold from the decisions stored on it, and says
/// why not when there are too few.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scan_page_learns_the_threshold_from_decisions() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let p = server.port;
    assert_eq!(post(p, "/collections", r#"{"name":"reviews"}"#).status, 201);
    let texts = [
        "빨라요",
        "느려요",
        "싸요",
        "비싸요",
        "예뻐요",
        "커요",
        "작아요",
        "좋아요",
        "좋네요",
    ];
    let docs: Vec<String> = (0..texts.len())
        .map(|i| format!(r#"{{"id": "d{i}", "text": "{}"}}"#, texts[i]))
        .collect();
    let body = format!(r#"{{"documents": [{}]}}"#, docs.join(","));
    assert_eq!(post(p, "/collections/reviews/documents", &body).status, 200);
    let decide = move |body: &str| {
        let r = post(p, "/collections/reviews/duplicates/decisions", body);
        assert_eq!(r.status, 200, "{}", r.body);
    };
    in_browser(p, None, |page| async move {
        page.open("page=duplicates&collection=reviews").await;
        page.click("#learn").await;
        page.wait_text("#learned", "at least 20").await;
        // Seven texts ruled apart (21 pairs) and one pair kept as one.
        decide(r#"{"decision": "not_duplicates", "ids": ["d0","d1","d2","d3","d4","d5","d6"]}"#);
        decide(r#"{"decision": "duplicates", "ids": ["d7", "d8"], "keep": "d7"}"#);
        page.click("#learn").await;
        page.wait_text("#learned", "판정한 22쌍 (중복 1쌍)").await;
        page.no_script_errors("learn").await;
    })
    .await;
    let own = get(p, "/collections/reviews/duplicates/settings").json();
    assert!(own["thresholds"]["cosine"].is_number(), "{own}");
    drop(server);
}
