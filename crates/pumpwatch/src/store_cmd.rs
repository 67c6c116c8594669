//! The alert store from the command line: `replay --store` and `ingest` load alerts (with
//! their day's context), `users` manages who may log in, `audit verify` checks the audit
//! chain, `serve` runs the API and the web UI.

use std::io::{BufRead, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use pumpwatch_replay::{Record, SourceOptions};
use pumpwatch_store::alerts::IncomingAlert;
use pumpwatch_store::cases::Grouping;
use pumpwatch_store::context::ContextBuilder;
use pumpwatch_store::users::Role;
use pumpwatch_store::Store;

/// Who the command line acts as in the audit log.
fn cli_actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Alerts and, when the day can be read again, their context, into the store.
pub fn load_alerts(
    url: &str,
    lines: &[String],
    day: Option<&Path>,
    window_secs: i64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut alerts = Vec::with_capacity(lines.len());
    for (n, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let alert =
            IncomingAlert::from_line(line).with_context(|| format!("alert line {}", n + 1))?;
        alerts.push(alert);
    }
    let context = match day {
        Some(day) if !alerts.is_empty() => {
            let parsed: Vec<_> = alerts.iter().map(|a| a.alert.clone()).collect();
            Some(day_context(day, &parsed)?)
        }
        _ => None,
    };
    runtime()?.block_on(async {
        let store = Store::open(url).await?;
        if let Some(context) = &context {
            // Links first: grouping reads them to join victims with their counterparties.
            store.put_market_context(context).await?;
        }
        let report = store
            .ingest_alerts(&cli_actor(), &alerts, &Grouping { window_secs })
            .await?;
        if let Some(context) = &context {
            store.put_holdings(context).await?;
        }
        store.close().await;
        eprintln!(
            "  alert store    {} alerts: {} stored, {} already there, {} in cases{} ({:.2} s)",
            report.received,
            report.stored,
            report.already_stored,
            report.grouped,
            if context.is_some() {
                ", with the day's holdings, bars and executions"
            } else {
                ""
            },
            started.elapsed().as_secs_f64()
        );
        anyhow::Ok(())
    })
}

/// Reads a day once more for what the alert pages show beside the alerts.
fn day_context(
    day: &Path,
    alerts: &[pumpwatch_model::Alert],
) -> anyhow::Result<pumpwatch_store::context::DayContext> {
    let mut builder = ContextBuilder::new(alerts);
    let options = SourceOptions {
        ignore_misnamed: true,
        ..SourceOptions::default()
    };
    let mut source = pumpwatch_replay::open_with(day, &options)
        .with_context(|| format!("cannot read {} for the alerts' context", day.display()))?;
    let mut batch = Vec::with_capacity(4096);
    loop {
        batch.clear();
        let more = source.next_batch(&mut batch, 4096)?;
        for record in &batch {
            if let Record::Event(event) = record {
                builder.observe(event);
            }
        }
        if !more {
            break;
        }
    }
    Ok(builder.finish())
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// An alert file (NDJSON, one alert per line, as replay prints them), or - to store the
    /// alerts of standard input as they come (a replay or an alert-topic reader piped in).
    pub alerts: PathBuf,
    /// The alert store: sqlite://FILE (created when missing) or postgres://USER@HOST:PORT/DB
    /// (also from PUMPWATCH_STORE, which keeps a password off the command line).
    #[arg(long, env = "PUMPWATCH_STORE")]
    pub store: String,
    /// The day the alerts came from (any replay input), for holdings, charts and executions.
    #[arg(long)]
    pub day: Option<PathBuf>,
    /// Alerts on one symbol within this many seconds join one case.
    #[arg(long, default_value_t = 3 * 3600)]
    pub case_window_secs: i64,
}

pub fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    if args.alerts == Path::new("-") {
        if args.day.is_some() {
            bail!("--day goes with an alert file: a stream is stored as it comes, without context");
        }
        return ingest_stream(&args.store, args.case_window_secs);
    }
    let file = std::fs::File::open(&args.alerts)
        .with_context(|| format!("cannot read {}", args.alerts.display()))?;
    let lines = std::io::BufReader::new(file)
        .lines()
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot read {}", args.alerts.display()))?;
    load_alerts(
        &args.store,
        &lines,
        args.day.as_deref(),
        args.case_window_secs,
    )
}

/// A stream's alerts are stored in transactions of at most this many...
const STREAM_BATCH: usize = 500;
/// ...or of what came within this long after the first of them.
const STREAM_LINGER: std::time::Duration = std::time::Duration::from_millis(200);

/// Stores the alerts of standard input as they come; a line that is not an alert is named on
/// stderr, counted and skipped.
fn ingest_stream(url: &str, window_secs: i64) -> anyhow::Result<()> {
    let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<(u64, String)>(4 * STREAM_BATCH);
    let reader = std::thread::spawn(move || -> std::io::Result<()> {
        for (n, line) in std::io::stdin().lock().lines().enumerate() {
            if lines_tx.blocking_send((n as u64 + 1, line?)).is_err() {
                break;
            }
        }
        Ok(())
    });
    let grouping = Grouping { window_secs };
    let actor = cli_actor();
    let (stored, already, rejected) = runtime()?.block_on(async {
        let store = Store::open(url).await?;
        let (mut stored, mut already, mut rejected) = (0u64, 0u64, 0u64);
        let mut batch = Vec::with_capacity(STREAM_BATCH);
        let mut open = true;
        while open {
            let Some(first) = lines.recv().await else {
                break;
            };
            let deadline = tokio::time::Instant::now() + STREAM_LINGER;
            let mut taken = vec![first];
            while taken.len() < STREAM_BATCH {
                match tokio::time::timeout_at(deadline, lines.recv()).await {
                    Ok(Some(line)) => taken.push(line),
                    Ok(None) => {
                        open = false;
                        break;
                    }
                    Err(_) => break,
                }
            }
            batch.clear();
            for (n, line) in taken {
                if line.trim().is_empty() {
                    continue;
                }
                match IncomingAlert::from_line(&line) {
                    Ok(alert) => batch.push(alert),
                    Err(err) => {
                        rejected += 1;
                        eprintln!("pumpwatch: standard input line {n} skipped: {err}");
                    }
                }
            }
            if batch.is_empty() {
                continue;
            }
            let report = store.ingest_alerts(&actor, &batch, &grouping).await?;
            stored += report.stored;
            already += report.already_stored;
        }
        store.close().await;
        anyhow::Ok((stored, already, rejected))
    })?;
    match reader.join() {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(anyhow::Error::new(err).context("cannot read standard input")),
        Err(_) => bail!("the standard input reader stopped"),
    }
    eprintln!(
        "  alert store    {stored} alerts stored, {already} already there, {rejected} lines skipped (not alerts)"
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub command: UsersCommand,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleArg {
    Analyst,
    Supervisor,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Analyst => Role::Analyst,
            RoleArg::Supervisor => Role::Supervisor,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user; prints a one-time API token on stdout.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long, env = "PUMPWATCH_STORE")]
        store: String,
        /// Also set a password for the web UI, read as one line from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password, read as one line from standard input.
    Passwd {
        name: String,
        #[arg(long, env = "PUMPWATCH_STORE")]
        store: String,
    },
    /// Issue another API token (printed once on stdout).
    Token {
        name: String,
        #[arg(long, default_value = "cli")]
        label: String,
        #[arg(long, env = "PUMPWATCH_STORE")]
        store: String,
    },
    /// Revoke every API token of a user.
    Revoke {
        name: String,
        #[arg(long, env = "PUMPWATCH_STORE")]
        store: String,
    },
    /// List users.
    List {
        #[arg(long, env = "PUMPWATCH_STORE")]
        store: String,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

pub fn users(args: UsersArgs) -> anyhow::Result<()> {
    let actor = cli_actor();
    runtime()?.block_on(async {
        match args.command {
            UsersCommand::Add {
                name,
                role,
                store,
                password_stdin,
            } => {
                let password = if password_stdin {
                    Some(read_password()?)
                } else {
                    None
                };
                let store = Store::open(&store).await?;
                let (user, token) = store
                    .add_user(&actor, &name, role.into(), password.as_deref())
                    .await?;
                println!("{token}");
                eprintln!(
                    "pumpwatch: user {} ({}) created{}; the token above is shown only once",
                    user.name,
                    user.role.as_str(),
                    if user.has_password {
                        " with a password"
                    } else {
                        ""
                    }
                );
            }
            UsersCommand::Passwd { name, store } => {
                let password = read_password()?;
                Store::open(&store)
                    .await?
                    .set_password(&actor, &name, &password)
                    .await?;
                eprintln!("pumpwatch: password of {name} set; its browser sessions ended");
            }
            UsersCommand::Token { name, label, store } => {
                let token = Store::open(&store)
                    .await?
                    .issue_token(&actor, &name, &label)
                    .await?;
                println!("{token}");
            }
            UsersCommand::Revoke { name, store } => {
                let revoked = Store::open(&store)
                    .await?
                    .revoke_tokens(&actor, &name)
                    .await?;
                eprintln!("pumpwatch: {revoked} token(s) of {name} revoked");
            }
            UsersCommand::List { store } => {
                let mut out = std::io::stdout().lock();
                for user in Store::open(&store).await?.users().await? {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}",
                        user.name,
                        user.role.as_str(),
                        if user.has_password {
                            "password"
                        } else {
                            "token-only"
                        },
                        if user.disabled { "disabled" } else { "enabled" }
                    )?;
                }
            }
        }
        anyhow::Ok(())
    })
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole audit chain: exit 0 when intact, 1 when an entry was altered,
    /// removed or inserted.
    Verify {
        #[arg(long, env = "PUMPWATCH_STORE")]
        store: String,
    },
}

/// Whether the chain is intact.
pub fn audit(args: AuditArgs) -> anyhow::Result<bool> {
    let AuditCommand::Verify { store } = args.command;
    runtime()?.block_on(async {
        let verification = Store::open(&store).await?.verify_audit().await?;
        if verification.intact {
            println!(
                "audit log intact: {} entries verified",
                verification.entries
            );
        } else {
            println!(
                "audit log BROKEN at entry {}: {} ({} entries before it verified)",
                verification.broken_at.unwrap_or_default(),
                verification.problem.as_deref().unwrap_or("unknown"),
                verification.entries
            );
        }
        Ok(verification.intact)
    })
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long, env = "PUMPWATCH_STORE")]
    pub store: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Mark the session cookie Secure (when a TLS proxy is in front).
    #[arg(long)]
    pub secure_cookies: bool,
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let store = Store::open(&args.store).await?;
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        eprintln!(
            "pumpwatch: serving the alert queue on http://{address}/ (store {})",
            pumpwatch_store::StoreUrl::parse(&args.store)?.shown()
        );
        let mut state = pumpwatch_web::AppState::new(store);
        state.secure_cookies = args.secure_cookies;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot watch for SIGTERM")?;
        let shutdown = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        pumpwatch_web::serve(state, listener, shutdown).await?;
        eprintln!("pumpwatch: stopped");
        anyhow::Ok(())
    })
}
