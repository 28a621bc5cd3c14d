//! A TCP proxy that can cut the line, or hold it, to take PostgreSQL or Redis "down" for one
//! test without touching the shared servers.
//!
//! *Down* closes every connection and refuses new ones: the server sees a crash. *Stalled*
//! keeps every connection open but holds the bytes in both directions (new connections are
//! accepted and held too): the server sees a host that stopped answering, as in a partition
//! that drops packets, and only its own timeouts can end the wait. When the stall ends, the
//! held bytes are delivered and the connections carry on.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The state of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Up,
    Down,
    Stalled,
}

/// Forwards `127.0.0.1:<port>` to a target until told to go down or to stall.
#[derive(Debug)]
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    line: Arc<watch::Sender<Line>>,
}

impl FaultProxy {
    /// Starts forwarding to `target` on the current runtime.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (line, _) = watch::channel(Line::Up);
        let line = Arc::new(line);
        let state = line.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *state.borrow() == Line::Down {
                    drop(client);
                    continue;
                }
                let state = state.clone();
                tokio::spawn(async move {
                    let mut watch = state.subscribe();
                    // A connection opened during a stall waits, unanswered, like a lost SYN.
                    match watch.wait_for(|line| *line != Line::Stalled).await {
                        Ok(line) if *line == Line::Up => {}
                        _ => return,
                    }
                    let Ok(upstream) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (upstream_read, upstream_write) = upstream.into_split();
                    let both = futures_util::future::join(
                        pump(client_read, upstream_write, state.subscribe()),
                        pump(upstream_read, client_write, state.subscribe()),
                    );
                    tokio::select! {
                        _ = both => {}
                        _ = watch.wait_for(|line| *line == Line::Down) => {}
                    }
                });
            }
        });
        Self { addr, line }
    }

    /// Cuts every open connection and refuses new ones (`true`), or restores service (`false`).
    pub fn set_down(&self, down: bool) {
        self.line
            .send_replace(if down { Line::Down } else { Line::Up });
    }

    /// Holds every byte in both directions, on open and new connections alike, without closing
    /// anything (`true`); or delivers what was held and forwards again (`false`).
    pub fn set_stalled(&self, stalled: bool) {
        self.line
            .send_replace(if stalled { Line::Stalled } else { Line::Up });
    }
}

/// Copies `from` to `to` while the line is not stalled; bytes read when a stall begins are held
/// until it ends.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut line: watch::Receiver<Line>) {
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        if line.wait_for(|l| *l != Line::Stalled).await.is_err() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if line.wait_for(|l| *l != Line::Stalled).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Resolves `host:port` of a URL such as `postgres://user@127.0.0.1:54329/db`.
pub fn socket_of(url: &str) -> SocketAddr {
    let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let authority = after_scheme.split('/').next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map(|(_, hp)| hp)
        .unwrap_or(authority);
    host_port
        .parse()
        .unwrap_or_else(|e| panic!("{host_port:?} is not ip:port: {e}"))
}

/// `url` with its `host:port` replaced by `addr`.
pub fn redirect(url: &str, addr: SocketAddr) -> String {
    let original = socket_of(url).to_string();
    url.replacen(&original, &addr.to_string(), 1)
}
