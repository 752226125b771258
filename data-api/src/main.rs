//! `data-api`: reads the configuration, opens the backend, serves HTTP.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

use data_api::backend::Backend;
use data_api::config::{Args, BackendChoice, Config};
use data_api::engine::EmbeddedBackend;
use data_api::server::{router, AppState};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_args(Args::parse())?;

    let backend: Arc<dyn Backend> = match &config.backend {
        BackendChoice::Embedded { data_dir } => {
            let dir = data_dir.clone();
            let opened = tokio::task::spawn_blocking(move || EmbeddedBackend::open(&dir)).await?;
            Arc::new(opened.with_context(|| {
                format!(
                    "cannot use the data dir {} (DATA_API_DATA_DIR / --data-dir)",
                    data_dir.display()
                )
            })?)
        }
        #[cfg(feature = "mongodb")]
        BackendChoice::MongoDb {
            uri,
            index_database,
        } => Arc::new(
            data_api::mongo::MongoBackend::connect(uri, index_database)
                .await
                .context("cannot use the MongoDB deployment in MONGODB_URI")?,
        ),
        #[cfg(not(feature = "mongodb"))]
        BackendChoice::MongoDb { .. } => {
            anyhow::bail!("MONGODB_URI needs a build with the `mongodb` feature")
        }
    };

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (DATA_API_LISTEN / --listen)",
                config.listen
            )
        })?;
    let address = listener.local_addr()?;
    // Tests and scripts read this line to learn the port; keys are never logged.
    eprintln!(
        "data-api listening on http://{address} ({})",
        backend.describe()
    );

    let state = Arc::new(AppState {
        backend,
        keys: config.keys,
        body_limit: config.body_limit,
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, finish requests in flight, exit 0.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
