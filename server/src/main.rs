//! The `synpunkt` binary: reads configuration, starts tracing, binds, and
//! hands over to the library.

use anyhow::Context;
use clap::Parser;
use server::config::{Cli, Command};
use server::{Config, Server};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sled=warn")),
        )
        .init();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::Import(args)) => return import(&args),
        Some(Command::AdminLink(args)) => {
            let link = server::control::admin_link(&args.data, &args.listen.to_string())
                .context("cannot make an admin sign-in link")?;
            println!("Admin sign-in (one-time link, valid 24 hours): {link}");
            return Ok(());
        }
        None => cli.serve,
    };
    let config = Config::from(&args);
    let listeners = server::Listeners {
        public: bind(args.listen).await?,
        metrics: match args.metrics_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        },
    };
    let server = Server::start(config, listeners).await?;
    println!("Synpunkt is running. Open http://{}/", server.addr());
    if let Some(addr) = server.metrics_addr() {
        println!("Metrics: http://{addr}/metrics");
    }
    if let Some(token) = server.admin_invite() {
        println!(
            "Admin sign-in (one-time link, valid 7 days): http://{}/invite/{token}",
            server.addr()
        );
    }
    println!("Data directory: {}", args.data.display());
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

fn import(args: &server::config::ImportArgs) -> anyhow::Result<()> {
    let page = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let created = server::import_page(&args.data, &page)
        .context("import failed (is a server running on this data directory? stop it first)")?;
    for w in &created {
        println!(
            "{}  {}  {}  {}",
            w.id,
            w.meeting_type.as_str(),
            w.when,
            w.title
        );
    }
    println!(
        "Imported {} workshops into {}",
        created.len(),
        args.data.display()
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
