//! What each accepted connection gets before its first request.

/// Asks the kernel to drop a connection whose peer takes none of our data for `after`
/// (TCP_USER_TIMEOUT also bounds zero-window probing): a watcher that never reads is cut off
/// instead of holding its buffers forever.
pub fn drop_when_stalled(conn: &dyn std::any::Any, after: std::time::Duration) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    let tcp = conn
        .downcast_ref::<actix_web::rt::net::TcpStream>()
        .or_else(|| conn.downcast_ref::<Tls>().map(|tls| tls.get_ref().0));
    if let Some(tcp) = tcp
        && let Err(e) = socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(after))
    {
        tracing::debug!(error = %e, "could not set TCP_USER_TIMEOUT");
    }
}
