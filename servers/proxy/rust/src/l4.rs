//! Connection balancing: the next upstream gets the whole client connection; bytes are copied.

use crate::upstream::{Upstreams, BAD_GATEWAY, UPSTREAM_TIMEOUT};
use std::rc::Rc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

pub async fn serve(mut client: TcpStream, upstreams: Rc<Upstreams>) {
    let addr = upstreams.addr(upstreams.pick());
    match tokio::time::timeout(UPSTREAM_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(mut upstream)) => {
            let _ = upstream.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
        _ => {
            upstreams.failed();
            let _ = client.write_all(BAD_GATEWAY).await;
            let _ = client.shutdown().await;
        }
    }
}
