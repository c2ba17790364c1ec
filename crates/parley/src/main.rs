//! `parley serve`: runs the server until Ctrl-C or SIGTERM.

use clap::Parser;
use parley::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("PARLEY_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let config = match Cli::parse().command {
        Command::Serve(config) => *config,
        Command::Migrate(args) => {
            let mut config = parley::Config::with_data_dir(args.data_dir);
            config.database_url = args.database_url;
            let store = parley::open_store(&config).await?;
            println!("The {} database is up to date.", store.backend());
            return Ok(());
        }
        Command::MigrateStore(args) => return migrate_store(args).await,
    };
    // Every realtime connection is an open file: allow as many as the system lets this process.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files allowed"),
        Err(error) => tracing::warn!(%error, "could not raise the open-files limit"),
    }
    let launched = parley::launch(&config).await?;
    if let Some(admin) = &launched.first_admin {
        println!("Parley is set up. First admin login (shown only now):");
        println!("  email:    {}", admin.email);
        println!("  password: {}", admin.password);
    }
    let store = match &config.database_url {
        Some(_) => "the configured database".to_string(),
        None => config.data_dir.join("parley.db").display().to_string(),
    };
    tracing::info!(addr = %launched.addr, %store, "Parley is listening");
    println!("Outgoing email: {}", launched.app.mailer().describe());
    match launched.smtp_addr {
        Some(addr) => println!(
            "Incoming email: SMTP on {addr}, for {} and reply+…@{}",
            launched.app.support_address(),
            launched.app.config().mail_domain
        ),
        None => {
            println!("Incoming email: no SMTP listener (--smtp-listen off); relays may post to /api/v1/inbound/email")
        }
    }
    println!("Parley is listening on http://{} (API at /api/v1, OpenAPI at /api/openapi.json)", launched.addr);
    if let Some(addr) = launched.metrics_addr {
        println!("Metrics for Prometheus on http://{addr}/metrics");
    }
    launched.serve_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// `parley migrate-store`: the move, then what it copied.
async fn migrate_store(args: parley::config::MigrateStoreArgs) -> anyhow::Result<()> {
    let from = args.from.unwrap_or_else(|| args.data_dir.join("parley.db").display().to_string());
    if !args.to.starts_with("postgres:") && !args.to.starts_with("postgresql:") {
        anyhow::bail!("--to must be a postgres:// URL");
    }
    let journal = args.data_dir.join("sent.journal");
    let moved = parley::store_move::move_to_postgres(&from, Some(&journal), &args.to).await?;
    if moved.journal_recovered > 0 {
        println!("{} emails the SMTP server had accepted were recorded as sent first.", moved.journal_recovered);
    }
    let mut copied: Vec<_> = moved.tables.iter().filter(|(_, rows)| *rows > 0).collect();
    copied.sort();
    for (table, rows) in copied {
        println!("  {table:<28} {rows:>10} rows");
    }
    let total: u64 = moved.tables.iter().map(|(_, rows)| rows).sum();
    println!("Moved {total} rows. Start the nodes with --database-url and --data-dir {}.", args.data_dir.display());
    Ok(())
}

async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
