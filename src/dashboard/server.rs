//! The dashboard's HTTP server: `GET /` is the page, `GET /api/status` the current
//! [`DashboardView`] as JSON; anything else is 404. One request per connection.

use super::view::DashboardView;
use parking_lot::RwLock;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// The page, with its script and style inline.
const PAGE: &str = include_str!("page.html");
/// Largest request head read.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// Serves the page and `view` on `addr`; returns the bound address and the server task.
pub(super) async fn serve(
    addr: SocketAddr,
    view: Arc<RwLock<DashboardView>>,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve the dashboard on {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let view = view.clone();
            tokio::spawn(async move {
                if let Err(e) = answer(socket, &view).await {
                    tracing::debug!(error = %e, "dashboard client went away");
                }
            });
        }
    });
    Ok((bound, task))
}

async fn answer(mut socket: TcpStream, view: &RwLock<DashboardView>) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "request head"))??;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buf[..read]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (status, content_type, body) = match (method, path.split('?').next().unwrap_or("")) {
        ("GET", "/") | ("GET", "/index.html") => {
            ("200 OK", "text/html; charset=utf-8", PAGE.to_string())
        }
        ("GET", "/api/status") => (
            "200 OK",
            "application/json",
            serde_json::to_string(&*view.read()).unwrap_or_else(|_| "{}".into()),
        ),
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".into()),
        _ => ("405 Method Not Allowed", "text/plain", "GET only\n".into()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(response.as_bytes()).await
}
