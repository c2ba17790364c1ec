//! Reading SMTP lines: a line ends at CRLF and only there (RFC 5321 §2.3.8). A bare LF is part
//! of the line it is in, so that no client can end a command, or a message's data, with one.

use std::io;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// What one read gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// A line in the buffer: ending in CRLF (`ended`), or the first `max` bytes of a longer one.
    Line { ended: bool },
    /// The client closed the connection (a part-line before it is dropped).
    Closed,
}

/// A connection read line by line; the rest of what it holds is written to directly.
pub struct Lines<S> {
    reader: BufReader<S>,
    /// The last byte handed over: a CR at the end of one read and an LF at the start of the next
    /// are still one CRLF.
    last: Option<u8>,
}

impl<S: AsyncRead + Unpin> Lines<S> {
    pub fn new(stream: S) -> Self {
        Lines { reader: BufReader::new(stream), last: None }
    }

    /// The connection, to write answers to.
    pub fn stream(&mut self) -> &mut S {
        self.reader.get_mut()
    }

    /// Reads into `line` up to and including the next CRLF, at most `max` bytes.
    pub async fn read(&mut self, line: &mut Vec<u8>, max: usize) -> io::Result<Read> {
        line.clear();
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok(Read::Closed);
            }
            let room = max.saturating_sub(line.len()).max(1);
            let window = &available[..available.len().min(room)];
            let mut end = None;
            for (i, &byte) in window.iter().enumerate() {
                if byte == b'\n' && self.last == Some(b'\r') {
                    end = Some(i + 1);
                }
                self.last = Some(byte);
                if end.is_some() {
                    break;
                }
            }
            let taken = end.unwrap_or(window.len());
            line.extend_from_slice(&window[..taken]);
            self.reader.consume(taken);
            if end.is_some() {
                return Ok(Read::Line { ended: true });
            }
            if line.len() >= max {
                return Ok(Read::Line { ended: false });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<(Vec<u8>, bool)> {
        let mut reader = Lines::new(input);
        let mut line = Vec::new();
        let mut out = Vec::new();
        while let Read::Line { ended } = reader.read(&mut line, max).await.unwrap() {
            out.push((line.clone(), ended));
        }
        out
    }

    #[tokio::test]
    async fn r45_only_crlf_ends_a_line_a_bare_lf_is_inside_it() {
        let got = lines(b"NOOP\r\nA\nB\r\n.\n\r\n", 100).await;
        let want: Vec<(Vec<u8>, bool)> =
            vec![(b"NOOP\r\n".to_vec(), true), (b"A\nB\r\n".to_vec(), true), (b".\n\r\n".to_vec(), true)];
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn r45_a_line_longer_than_the_limit_comes_in_parts_and_the_last_ends_it() {
        let got = lines(b"abcdefgh\r\nx\r\n", 4).await;
        let parts: Vec<(&[u8], bool)> = got.iter().map(|(l, e)| (l.as_slice(), *e)).collect();
        assert_eq!(parts, vec![(&b"abcd"[..], false), (b"efgh", false), (b"\r\n", true), (b"x\r\n", true)]);
    }

    #[tokio::test]
    async fn r45_a_cr_and_lf_split_between_reads_still_end_the_line() {
        let got = lines(b"abc\r\ndef\r\n", 4).await;
        assert_eq!(got[0], (b"abc\r".to_vec(), false));
        assert_eq!(got[1], (b"\n".to_vec(), true));
    }
}
