//! `parley-load --email-catchup`: does the email worker keep up? A customer posts at a fixed rate
//! into many conversations whose ticket two agents follow; neither agent is connected, so every
//! message is emailed to both once the delay has passed (R14). Each email arrives at a real SMTP
//! server; a message's lateness is when the email holding it arrived minus when it was posted
//! plus the delay. The server runs its own email worker at its default pace, on a clock that
//! moves with real time.

use parley_testkit::{spawn_app_with, SmtpSink};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Catchup {
    /// Posts per second; 0: as fast as the server acknowledges them, from `clients` clients.
    pub rate: usize,
    pub clients: usize,
    pub seconds: usize,
    pub conversations: usize,
    pub delay: Duration,
}

/// The message numbers `[m<n>]` an email's text holds.
fn numbers_in(text: &str) -> Vec<usize> {
    text.split("[m").skip(1).filter_map(|rest| rest.split(']').next()?.parse().ok()).collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One SMTP connection to the same server through lettre's own transport: emails/s sent one
/// after another (its connections keep Nagle's algorithm on).
async fn lettre_connection_rate(url: &str, n: usize) -> anyhow::Result<f64> {
    use lettre::transport::smtp::PoolConfig;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let transport =
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.pool_config(PoolConfig::new().max_size(1)).build();
    let started = Instant::now();
    for i in 0..n {
        let probe = Message::builder()
            .from("probe@acme.test".parse()?)
            .to("probe@acme.test".parse()?)
            .subject(format!("probe {i}"))
            .body(String::from("A probe of the SMTP server's pace."))?;
        transport.send(probe).await?;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// The ceiling of one SMTP connection to the same server: emails/s sent one after another through
/// Parley's own pool (which then uses one connection).
async fn one_connection_rate(url: &str, n: usize) -> anyhow::Result<f64> {
    use parley_app::Mailer;
    let mailer = parley_mail::SmtpMailer::new(url, "Probe <probe@acme.test>".parse()?).map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    for i in 0..n {
        let email = parley_store::NewOutgoingEmail {
            created_at: 0,
            conversation_id: None,
            party: None,
            to_address: "probe@acme.test".into(),
            to_name: String::new(),
            subject: format!("probe {i}"),
            body_text: "A probe of the SMTP server's pace.".into(),
            body_html: String::new(),
            message_id_header: format!("<probe{i}@acme.test>"),
            in_reply_to: None,
            references: None,
            reply_to: None,
            secret: None,
        };
        let email = parley_store::OutgoingEmail::queued(parley_domain::OutgoingEmailId(i as i64), email);
        mailer.send(&email).await.map_err(anyhow::Error::msg)?;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

pub async fn run(c: Catchup) -> anyhow::Result<()> {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let lettre = lettre_connection_rate(&url, 100).await?;
    let one = one_connection_rate(&url, 1000).await?;
    println!(
        "email catch-up: one SMTP connection to the same server, emails one after another: {one:.0} emails/s \
         (lettre's own transport: {lettre:.0} emails/s)"
    );
    let delay = c.delay;
    let app = spawn_app_with(move |config| {
        config.rate_limits = false;
        config.smtp_url = Some(url);
        config.email_delay = delay;
        // The product's own pace, not the tests' hour.
        config.delivery_poll = parley::Config::with_data_dir(Default::default()).delivery_poll;
    })
    .await;
    // The app's clock moves with real time from here on.
    let clock = app.clock.clone();
    let ticking = tokio::spawn(async move {
        let mut last = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let now = Instant::now();
            let ms = (now - last).as_millis() as i64;
            if ms > 0 {
                clock.advance_ms(ms);
                last += Duration::from_millis(ms as u64);
            }
        }
    });

    let admin = app.admin().await;
    let agents = ["ana@acme.test", "ben@acme.test"];
    let mut agent_ids = Vec::new();
    for email in agents {
        agent_ids.push(
            app.ok(&admin, "/api/v1/users", json!({"email": email, "name": email, "password": "password-123"}), 201)
                .await["id"]
                .clone(),
        );
    }
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Catch-up").await;
    let ticket = app.ticket(&admin, project, "Many threads", &[carla.id]).await;
    for id in &agent_ids {
        let follow = json!({"role": "follower", "party": {"kind": "user", "id": id}});
        app.ok(&admin, &format!("/api/v1/items/{ticket}/people"), follow, 200).await;
    }
    // Only the two agents receive: the admin who opened the ticket stops following it.
    let unfollow = format!("{}/api/v1/items/{ticket}/people/follower/user/{}", app.base, admin.id);
    let res = reqwest::Client::new().delete(unfollow).bearer_auth(&admin.token).send().await?;
    anyhow::ensure!(res.status().is_success(), "unfollowing: {}", res.status());
    let mut conversations = Vec::new();
    for _ in 0..c.conversations {
        // Started by Carla, so that only the two agents receive what she writes.
        conversations.push(app.conversation(&carla, ticket, "public").await);
    }
    let admin_mails = sink.mails().len();

    let client = reqwest::Client::new();
    let token = Arc::new(carla.token.clone());
    let posted_at: Arc<std::sync::Mutex<HashMap<usize, Instant>>> = Arc::default();
    let conversations = Arc::new(conversations);
    // Posts message `n`; answers whether it was taken.
    let post = {
        let (base, client, token, posted_at, conversations) =
            (app.base.clone(), client.clone(), token.clone(), posted_at.clone(), conversations.clone());
        move |n: usize| {
            let url = format!("{base}/api/v1/conversations/{}/messages", conversations[n % conversations.len()]);
            let (client, token, posted_at) = (client.clone(), token.clone(), posted_at.clone());
            async move {
                let at = Instant::now();
                let res = client
                    .post(url)
                    .bearer_auth(token.as_str())
                    .json(&json!({"body": format!("Update [m{n}]")}))
                    .send()
                    .await;
                let ok = res.is_ok_and(|r| r.status() == 201);
                posted_at.lock().expect("lock").insert(n, at);
                ok
            }
        }
    };
    let started = Instant::now();
    let mut refused = 0;
    let total = if c.rate > 0 {
        // Open loop: a post every 1/rate s, whether or not the earlier ones were answered.
        let total = c.rate * c.seconds;
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / c.rate as f64));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tasks = Vec::with_capacity(total);
        for n in 0..total {
            ticker.tick().await;
            tasks.push(tokio::spawn(post.clone()(n)));
        }
        for t in tasks {
            refused += usize::from(!t.await?);
        }
        total
    } else {
        // Closed loop: each client posts again once answered, for `seconds`.
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let until = started + Duration::from_secs(c.seconds as u64);
        let mut clients = Vec::new();
        for _ in 0..c.clients {
            let (next, post) = (next.clone(), post.clone());
            clients.push(tokio::spawn(async move {
                let mut refused = 0;
                while Instant::now() < until {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    refused += usize::from(!post(n).await);
                }
                refused
            }));
        }
        for client in clients {
            refused += client.await?;
        }
        next.load(std::sync::atomic::Ordering::SeqCst)
    };
    let posting = started.elapsed();
    let asked =
        if c.rate > 0 { format!("asked {}", c.rate) } else { format!("as acknowledged, {} clients", c.clients) };
    println!(
        "email catch-up: {total} posts in {:.1} s ({:.0} posts/s {asked}, {refused} refused), {} conversations, \
         2 unseen recipients each, delay {:?}",
        posting.as_secs_f64(),
        total as f64 / posting.as_secs_f64(),
        c.conversations,
        c.delay
    );

    // Wait until every message reached both agents, or until it is plainly hopeless.
    let expected = total * agents.len();
    let deadline = Instant::now() + c.delay + Duration::from_secs(120);
    let mut arrived: HashMap<(usize, usize), Instant> = HashMap::new();
    let mut emails = 0;
    while arrived.len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Only the new ones: reading them costs the machine the server runs on.
        let mails = sink.mails_since(admin_mails + emails);
        emails += mails.len();
        for mail in &mails {
            let Some(agent) = agents.iter().position(|a| mail.to.iter().any(|t| t == a)) else { continue };
            for n in numbers_in(&mail.text()) {
                arrived.entry((n, agent)).or_insert(mail.received_at);
            }
        }
    }
    ticking.abort();
    let posted_at = posted_at.lock().expect("lock").clone();
    let mut lateness: Vec<Duration> =
        arrived.iter().map(|((n, _), at)| at.saturating_duration_since(posted_at[n] + c.delay)).collect();
    lateness.sort();
    anyhow::ensure!(
        lateness.len() == expected,
        "only {} of {expected} message-emails arrived within {:?}",
        lateness.len(),
        c.delay + Duration::from_secs(120)
    );
    let late = lateness.iter().filter(|l| **l > Duration::from_secs(2)).count();
    let span = arrived.values().max().zip(arrived.values().min()).map(|(a, b)| *a - *b).unwrap_or_default();
    println!(
        "email catch-up: {} of {expected} message-emails arrived in {emails} emails ({:.0} emails/s over {:.1} s); \
         lateness past the delay p50 {:?}, p99 {:?}, max {:?}; {late} more than 2 s late",
        lateness.len(),
        emails as f64 / span.as_secs_f64().max(0.001),
        span.as_secs_f64(),
        percentile(&lateness, 0.5),
        percentile(&lateness, 0.99),
        lateness.last().copied().unwrap_or_default(),
    );
    app.stop().await;
    Ok(())
}
