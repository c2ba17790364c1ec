//! `parley-load --attachments`: files through the real HTTP API, next to what the disk itself does
//! in the same run. Uploads are streamed to disk, hashed and flushed before their record is
//! written; every fetch asks the access rule again and streams the bytes back.

use parley_testkit::{spawn_app_with, TestApp, Who};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Files {
    pub count: usize,
    pub kib: usize,
    pub clients: usize,
}

pub async fn run(f: Files) -> anyhow::Result<()> {
    let app = spawn_app_with(|c| c.rate_limits = false).await;
    let bytes = Arc::new(payload(f.kib));
    let (files_per_s, reads_per_s) = disk_ceiling(app.data_dir.path(), &bytes, 500)?;
    let mib = |per_s: f64| per_s * f.kib as f64 / 1024.0;
    println!(
        "disk ceiling, {} KiB files one at a time: written, flushed and renamed {files_per_s:.0} files/s ({:.0} MiB/s); \
         read back {reads_per_s:.0} files/s ({:.0} MiB/s)",
        f.kib,
        mib(files_per_s),
        mib(reads_per_s)
    );
    // One client, its connections kept, as a browser or an integration does.
    let client = reqwest::Client::new();
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Files").await;
    let ticket = app.ticket(&admin, project, "Files", &[carla.id]).await;
    let conversation = app.conversation(&admin, ticket, "public").await;

    let started = Instant::now();
    let uploads = spread(f.count, f.clients, |n| {
        let (app, token, bytes, client) = (app.base.clone(), admin.token.clone(), bytes.clone(), client.clone());
        async move {
            // Each file differs in its first bytes, so each is stored, not found already there.
            let mut body = (*bytes).clone();
            body[..8].copy_from_slice(&(n as u64).to_le_bytes());
            let res = client
                .post(format!("{app}/api/v1/conversations/{conversation}/attachments?name=file{n}.bin"))
                .bearer_auth(token)
                .header("content-type", "application/octet-stream")
                .body(body)
                .send()
                .await
                .expect("upload");
            assert_eq!(res.status(), 201);
            res.json::<serde_json::Value>().await.expect("json")["id"].as_i64().expect("id")
        }
    })
    .await;
    report("uploads", &uploads, started.elapsed(), f.kib, files_per_s);
    let ids: Vec<i64> = uploads.iter().map(|(id, _)| *id).collect();

    // Each post takes three of the files.
    let started = Instant::now();
    let posts = spread(ids.len() / 3, f.clients, |n| {
        let (app, token, files) = (app.base.clone(), admin.token.clone(), ids[n * 3..n * 3 + 3].to_vec());
        let client = client.clone();
        async move {
            let res = client
                .post(format!("{app}/api/v1/conversations/{conversation}/messages"))
                .bearer_auth(token)
                .json(&json!({"body": format!("files {n}"), "attachments": files}))
                .send()
                .await
                .expect("post");
            assert_eq!(res.status(), 201);
        }
    })
    .await;
    let (p50, p99) = percentiles(&posts);
    println!(
        "posts with 3 files each: {} posts, {} clients: {:.0} posts/s, p50 {p50:?}, p99 {p99:?}",
        posts.len(),
        f.clients,
        posts.len() as f64 / started.elapsed().as_secs_f64()
    );

    // The customer fetches them: the access rule on every fetch.
    let sent: Vec<i64> = ids[..ids.len() / 3 * 3].to_vec();
    let started = Instant::now();
    let fetches = spread(sent.len(), f.clients, |n| fetch(&client, &app, &carla, sent[n], f.kib)).await;
    report("fetches by the customer", &fetches, started.elapsed(), f.kib, reads_per_s);
    app.stop().await;
    Ok(())
}

fn fetch(
    client: &reqwest::Client,
    app: &TestApp,
    who: &Who,
    id: i64,
    kib: usize,
) -> impl std::future::Future<Output = ()> {
    let (url, token, client) = (format!("{}/api/v1/attachments/{id}", app.base), who.token.clone(), client.clone());
    async move {
        let res = client.get(url).bearer_auth(token).send().await.expect("fetch");
        assert_eq!(res.status(), 200);
        assert_eq!(res.bytes().await.expect("bytes").len(), kib * 1024);
    }
}

fn payload(kib: usize) -> Vec<u8> {
    (0..kib * 1024).map(|i| (i % 251) as u8).collect()
}

/// Runs `count` calls of `call` from `clients` tasks; answers each call's result and time.
pub(crate) async fn spread<F, Fut, T>(count: usize, clients: usize, call: F) -> Vec<(T, Duration)>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let calls: Vec<_> = (0..count).map(&call).collect();
    let calls = Arc::new(std::sync::Mutex::new(calls.into_iter().map(Some).collect::<Vec<_>>()));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, calls) = (next.clone(), calls.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(fut) = calls.lock().expect("calls").get_mut(n).and_then(Option::take) else { break };
                let t = Instant::now();
                let out = fut.await;
                done.push((n, out, t.elapsed()));
            }
            done
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    all.sort_by_key(|(n, _, _)| *n);
    all.into_iter().map(|(_, out, d)| (out, d)).collect()
}

pub(crate) fn percentiles<T>(calls: &[(T, Duration)]) -> (Duration, Duration) {
    let mut times: Vec<Duration> = calls.iter().map(|(_, d)| *d).collect();
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize];
    (pct(0.5), pct(0.99))
}

fn report<T>(what: &str, calls: &[(T, Duration)], elapsed: Duration, kib: usize, ceiling: f64) {
    let per_s = calls.len() as f64 / elapsed.as_secs_f64();
    let (p50, p99) = percentiles(calls);
    println!(
        "{what}: {} files of {kib} KiB: {per_s:.0} files/s ({:.0} MiB/s, {:.0}% of the disk's own), p50 {p50:?}, p99 {p99:?}",
        calls.len(),
        per_s * kib as f64 / 1024.0,
        per_s / ceiling * 100.0
    );
}

/// What the disk does alone, one file after another: files of the same size written, flushed
/// and renamed into place, as an upload is; then read back. Answers both rates, files/s.
fn disk_ceiling(dir: &std::path::Path, bytes: &[u8], count: usize) -> anyhow::Result<(f64, f64)> {
    use std::io::{Read, Write};
    let probe = dir.join("disk-probe");
    std::fs::create_dir_all(&probe)?;
    let started = Instant::now();
    for n in 0..count {
        let part = probe.join(format!("{n}.part"));
        let mut file = std::fs::File::create(&part)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&part, probe.join(n.to_string()))?;
    }
    let writes = count as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut buf = Vec::with_capacity(bytes.len());
    for n in 0..count {
        buf.clear();
        std::fs::File::open(probe.join(n.to_string()))?.read_to_end(&mut buf)?;
        assert_eq!(buf.len(), bytes.len());
    }
    let reads = count as f64 / started.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&probe)?;
    Ok((writes, reads))
}
