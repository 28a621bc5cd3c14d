//! A TCP proxy that can cut the line, to take PostgreSQL or Redis "down" for one test without
//! touching the shared servers.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards `127.0.0.1:<port>` to a target until told to go down.
#[derive(Debug)]
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    down: Arc<watch::Sender<bool>>,
}

impl FaultProxy {
    /// Starts forwarding to `target` on the current runtime.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (down, _) = watch::channel(false);
        let down = Arc::new(down);
        let state = down.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *state.borrow() {
                    drop(client);
                    continue;
                }
                let mut cut = state.subscribe();
                tokio::spawn(async move {
                    let Ok(mut upstream) = TcpStream::connect(target).await else {
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                        _ = cut.wait_for(|down| *down) => {}
                    }
                });
            }
        });
        Self { addr, down }
    }

    /// Cuts every open connection and refuses new ones (`true`), or restores service (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }
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
