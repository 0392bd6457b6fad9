//! [`FaultySocket`]: a seeded wrapper around any [`DatagramSocket`] that loses, duplicates, reorders,
//! delays and corrupts what it sends, for testing the transport against a hostile network.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chatproto::sim::{FaultConfig, Faults};

use crate::socket::DatagramSocket;

/// Wraps a socket so that each datagram sent meets the fate a seeded [`Faults`] decides. Receiving is
/// untouched; wrap both ends to damage both directions. The same seed gives the same faults in the same
/// order. Delayed datagrams are sent by tasks of their own, so a tokio runtime is needed.
#[derive(Debug)]
pub struct FaultySocket<S> {
    inner: Arc<S>,
    // Held only to draw a fate, never across an await.
    faults: Mutex<Faults>,
}

impl<S: DatagramSocket> FaultySocket<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, config: FaultConfig, seed: u64) -> FaultySocket<S> {
        FaultySocket {
            inner: Arc::new(inner),
            faults: Mutex::new(Faults::new(config, seed)),
        }
    }
}

#[async_trait]
impl<S: DatagramSocket> DatagramSocket for FaultySocket<S> {
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        let fate = match self.faults.lock() {
            Ok(mut faults) => faults.fate(buf.len()),
            Err(poisoned) => poisoned.into_inner().fate(buf.len()),
        };
        for (i, delay) in fate.copies.iter().enumerate() {
            let mut datagram = buf.to_vec();
            if i == 0 {
                Faults::damage(&fate, &mut datagram);
            }
            if delay.is_zero() {
                let _ = self.inner.send_to(&datagram, target).await;
            } else {
                let inner = self.inner.clone();
                let delay = *delay;
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = inner.send_to(&datagram, target).await;
                });
            }
        }
        // A lost datagram is still "sent", as far as the sender can tell.
        Ok(buf.len())
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.recv_from(buf).await
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}
