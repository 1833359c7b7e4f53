//! `TCP_NODELAY` on the connections to PostgreSQL.
//!
//! sqlx 0.9.0 opens its TCP sockets with Nagle's algorithm on (an upstream regression, fixed
//! after that release). A message the driver writes in more than one piece (a large batch
//! statement, such as the notifier's plan update or outbox insert) then leaves its last piece
//! waiting for the acknowledgement of the one before, which PostgreSQL's kernel delays by 40 ms:
//! the notifier's sweep took ~100 ms over TCP against ~50 ms over the Unix socket
//! (`docs/PERFORMANCE.md`, "The notifier's sweep over TCP").
//!
//! The driver does not hand out its socket, so after each new connection the pool calls
//! [`on_new_connection`], which finds the process's TCP sockets connected to the database's port
//! that still have Nagle on and turns it off. It reaches each socket through a duplicate of its
//! descriptor (`pidfd_getfd` on the process itself, Linux 5.6+), which shares the socket, so
//! no unsafe code touches descriptors the driver owns. Only the option changes; nothing is read
//! or written. Elsewhere, or where the kernel refuses (an old kernel, a seccomp profile), the
//! connection works as before and a debug line says so; reaching PostgreSQL through its Unix
//! socket avoids the delay altogether.

/// Turns Nagle's algorithm off on the process's TCP sockets whose peer listens on `port` (the
/// database's). Returns how many sockets it changed.
pub fn on_new_connection(port: u16) -> usize {
    let result = sockets_to_port(port).and_then(|sockets| {
        let mut changed = 0;
        for socket in sockets.iter().filter(|s| !s.nodelay) {
            socket.set_nodelay()?;
            changed += 1;
        }
        Ok(changed)
    });
    result.unwrap_or_else(|error| {
        tracing::debug!(
            %error,
            "cannot set TCP_NODELAY on the database connections; large statements over TCP may \
             wait 40 ms for an acknowledgement"
        );
        0
    })
}

/// One of the process's TCP sockets, reached through a duplicate of its descriptor.
#[derive(Debug)]
pub struct PeerSocket {
    /// The local end's address.
    pub local: std::net::SocketAddr,
    /// Whether Nagle's algorithm is off.
    pub nodelay: bool,
    #[cfg(target_os = "linux")]
    duplicate: std::os::fd::OwnedFd,
}

impl PeerSocket {
    fn set_nodelay(&self) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        rustix::net::sockopt::set_tcp_nodelay(&self.duplicate, true)?;
        Ok(())
    }
}

/// The process's connected TCP sockets whose peer is on `port`.
#[cfg(target_os = "linux")]
pub fn sockets_to_port(port: u16) -> std::io::Result<Vec<PeerSocket>> {
    use rustix::net::{AddressFamily, SocketType, sockopt};
    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};

    let this_process = pidfd_open(getpid(), PidfdFlags::empty())?;
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Ok(entry) = entry else { continue };
        let is_socket = std::fs::read_link(entry.path()).is_ok_and(|target| {
            target
                .as_os_str()
                .as_encoded_bytes()
                .starts_with(b"socket:")
        });
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if !is_socket {
            continue;
        }
        // The descriptor may have been closed (or its number reused) since the directory was
        // read: every check below is made on the duplicate, so a stale number only skips or
        // finds another socket, which is then judged on its own.
        let Ok(duplicate) = pidfd_getfd(&this_process, fd, PidfdGetfdFlags::empty()) else {
            continue;
        };
        let is_tcp = sockopt::socket_type(&duplicate) == Ok(SocketType::STREAM)
            && matches!(
                sockopt::socket_domain(&duplicate),
                Ok(AddressFamily::INET | AddressFamily::INET6)
            );
        if !is_tcp {
            continue;
        }
        let peer = rustix::net::getpeername(&duplicate)
            .ok()
            .flatten()
            .and_then(|peer| std::net::SocketAddr::try_from(peer).ok());
        let local = rustix::net::getsockname(&duplicate)
            .ok()
            .and_then(|local| std::net::SocketAddr::try_from(local).ok());
        let (Some(peer), Some(local)) = (peer, local) else {
            continue;
        };
        if peer.port() != port {
            continue;
        }
        found.push(PeerSocket {
            local,
            nodelay: sockopt::tcp_nodelay(&duplicate)?,
            duplicate,
        });
    }
    Ok(found)
}

#[cfg(not(target_os = "linux"))]
pub fn sockets_to_port(_port: u16) -> std::io::Result<Vec<PeerSocket>> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "finding the driver's sockets needs Linux",
    ))
}
