//! Gzip request bodies, decompressed to at most a limit: a larger result (a gzip bomb) is
//! refused without ever being buffered whole.
//!
//! ```
//! use std::io::Write;
//!
//! let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
//! gz.write_all(b"{}")?;
//! let body = gz.finish()?;
//! assert_eq!(agentrace_ingest::gzip::gunzip(&body, 1024).ok(), Some(b"{}".to_vec()));
//! assert!(agentrace_ingest::gzip::gunzip(&body, 1).is_err());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::Read;

/// A body that could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GunzipError {
    /// Not gzip, or cut short.
    #[error("the body is not valid gzip: {0}")]
    Invalid(String),
    /// Larger than the limit once decompressed.
    #[error("the body is larger than {limit} bytes once decompressed")]
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
}

/// Decompresses `body` (one or more gzip members) to at most `limit` bytes.
pub fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, GunzipError> {
    let mut plain = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(body)
        .take(cap)
        .read_to_end(&mut plain)
        .map_err(|e| GunzipError::Invalid(e.to_string()))?;
    if plain.len() > limit {
        return Err(GunzipError::TooLarge { limit });
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn decompression_stops_at_the_limit() -> std::io::Result<()> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 1 << 20])?;
        let bomb = gz.finish()?;
        assert!(bomb.len() < 10_000);
        assert_eq!(gunzip(&bomb, 1 << 20).map(|p| p.len()).ok(), Some(1 << 20));
        assert_eq!(
            gunzip(&bomb, (1 << 20) - 1),
            Err(GunzipError::TooLarge {
                limit: (1 << 20) - 1
            })
        );
        assert!(matches!(
            gunzip(b"not gzip at all", 100),
            Err(GunzipError::Invalid(_))
        ));
        Ok(())
    }
}
