//! A minimal HTTP endpoint for Prometheus to scrape.

use crate::NodeMetrics;
use std::net::SocketAddr;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// Errors of the metrics exporter.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The listen address could not be bound.
    #[error("cannot bind metrics endpoint {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Serves `GET /metrics` (any path) on `addr` until the returned task is dropped or aborted.
/// Returns the bound address (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    metrics: NodeMetrics,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), MetricsError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                // Read the request head (bounded); the content does not matter.
                let mut buf = [0u8; 2048];
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(5), socket.read(&mut buf))
                        .await;
                let body = metrics.render();
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    body.len(),
                    body
                );
                if let Err(e) = socket.write_all(response.as_bytes()).await {
                    tracing::debug!(error = %e, "metrics client went away");
                }
            });
        }
    });
    Ok((local, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_prometheus_text() {
        let metrics = NodeMetrics::new();
        metrics.consensus_round.set(7);
        let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), metrics)
            .await
            .unwrap();
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK"));
        assert!(response.contains("fastevm_consensus_round 7"), "{response}");
        task.abort();
    }
}
