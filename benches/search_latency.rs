//! Search latency over loopback: a bounded load generator for a running `yusa serve`.
//! For each concurrency level, `clients` threads send `--requests` searches in total (each client its
//! share, queries taken round-robin from a file) and the latencies are reported as p50/p95/p99.
//!
//! cargo bench --bench search_latency -- --port 8080 --collection NAME --queries FILE
//!     [--clients 1,8] [--requests 200] [--rerank false] [--k 10] [--mode hybrid]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

mod common;
use common::arg;

fn post(port: u16, path: &str, body: &str) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(s, "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let head = String::from_utf8_lossy(&buf[..buf.len().min(32)]).into_owned();
    Ok(head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let port: u16 = arg("--port", "8080").parse()?;
    let collection = arg("--collection", "default");
    let queries: Vec<String> = std::fs::read_to_string(arg("--queries", "queries.txt"))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(!queries.is_empty(), "no queries");
    let requests: usize = arg("--requests", "200").parse()?;
    let rerank: bool = arg("--rerank", "false").parse()?;
    let k: usize = arg("--k", "10").parse()?;
    let mode = arg("--mode", "hybrid");
    let path = format!("/collections/{collection}/search");
    // Warm-up.
    for q in queries.iter().take(5) {
        post(
            port,
            &path,
            &serde_json::json!({"query": q, "k": k, "rerank": rerank, "mode": mode}).to_string(),
        )?;
    }
    for clients in arg("--clients", "1,8")
        .split(',')
        .map(|c| c.trim().parse::<usize>())
    {
        let clients = clients?;
        let per = requests.div_ceil(clients);
        let t0 = Instant::now();
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (queries, path, mode) = (queries.clone(), path.clone(), mode.clone());
                std::thread::spawn(move || {
                    let mut lat = Vec::with_capacity(per);
                    let mut errors = 0;
                    for i in 0..per {
                        let q = &queries[(c * per + i) % queries.len()];
                        let body =
                            serde_json::json!({"query": q, "k": k, "rerank": rerank, "mode": mode})
                                .to_string();
                        let t = Instant::now();
                        match post(port, &path, &body) {
                            Ok(200) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                            _ => errors += 1,
                        }
                    }
                    (lat, errors)
                })
            })
            .collect();
        let mut all = vec![];
        let mut errors = 0;
        for h in handles {
            let (l, e) = h.join().expect("client thread");
            all.extend(l);
            errors += e;
        }
        let wall = t0.elapsed().as_secs_f64();
        all.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{mode}{} k={k}, {clients} client(s): {} requests in {wall:.1} s ({:.1} req/s), {errors} errors; latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            if rerank { " + rerank" } else { "" },
            all.len(),
            all.len() as f64 / wall,
            pct(&all, 0.50),
            pct(&all, 0.95),
            pct(&all, 0.99)
        );
    }
    Ok(())
}
