use clap::{Parser, Subcommand};
use gavel::Application;
use gavel::config::{ServeArgs, Settings};
use gavel::domain::{Password, Role, Username};
use gavel::store::Store;
use std::io::BufRead;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "gavel", about = "A live auction site", version)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site (the default).
    Serve(Box<ServeArgs>),
    /// Copy the live database to a new file while the site serves (see README: restore).
    Backup {
        /// The file to write; it must not exist yet.
        path: std::path::PathBuf,
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://gavel.db")]
        database_url: String,
    },
    /// Manage users.
    Users {
        #[command(subcommand)]
        action: UsersCommand,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user; the password is read from standard input.
    Add {
        name: String,
        #[arg(long, value_parser = ["admin", "seller", "bidder"])]
        role: String,
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://gavel.db")]
        database_url: String,
    },
    /// Suspend a user: they can no longer log in, and their sessions end.
    Suspend {
        name: String,
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://gavel.db")]
        database_url: String,
    },
    /// Lift a suspension.
    Unsuspend {
        name: String,
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://gavel.db")]
        database_url: String,
    },
}

/// Many connections' short-lived allocations spread over glibc's per-thread arenas (up to
/// eight per core), and each arena keeps what was freed in it: 10,000 waiting long pollers
/// measured 19 KiB each with the default and 12.5 KiB with two arenas (BENCHMARKS.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only sets allocator parameters, and runs before the server's threads.
    // A fixed mmap threshold: an Argon2 hash's 19 MiB goes back to the system when freed.
    // glibc's sliding threshold otherwise rises past it after the first free and keeps every
    // such block in an arena (a login burst measured +383 MiB, kept).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(*args).await,
        Some(Command::Users { action }) => users(action).await,
        Some(Command::Backup { path, database_url }) => {
            let store = Store::open(&database_url).await?;
            store.backup_to(&path).await?;
            println!("backed up to {}", path.display());
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::from_args(args)?;
    let app = Application::build(settings.clone()).await?;
    let host = settings
        .bind
        .rsplit_once(':')
        .map_or("127.0.0.1", |(h, _)| h);
    tracing::info!("Gavel is serving on http://{host}:{}", app.port());
    app.run_until_signalled().await?;
    Ok(())
}

async fn users(action: UsersCommand) -> anyhow::Result<()> {
    match action {
        UsersCommand::Add {
            name,
            role,
            database_url,
        } => {
            let username = Username::parse(&name)?;
            let role: Role = role.parse()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let password = Password::parse(line.trim_end_matches(['\r', '\n']))?;
            let store = Store::open(&database_url).await?;
            let hash = gavel::web::auth::hash_password(password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let user = store
                .create_user(&username, &hash, role, chrono::Utc::now())
                .await?;
            println!("created {} ({})", user.username, user.role.as_str());
        }
        UsersCommand::Suspend { name, database_url } => {
            let store = Store::open(&database_url).await?;
            anyhow::ensure!(
                store.set_suspended(&name.to_lowercase(), true).await?,
                "no user {name}"
            );
            println!("suspended {name}");
        }
        UsersCommand::Unsuspend { name, database_url } => {
            let store = Store::open(&database_url).await?;
            anyhow::ensure!(
                store.set_suspended(&name.to_lowercase(), false).await?,
                "no user {name}"
            );
            println!("restored {name}");
        }
    }
    Ok(())
}
