//! Sending mail to Parley's SMTP listener: through lettre, as a mail server would, or line by line
//! over TCP to see each answer.

use lettre::address::Envelope;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::net::SocketAddr;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Delivers `raw` to the listener at `addr` for the envelope `from` → `to`, as an MTA would.
/// Answers the server's final reply, or its refusal as an error.
pub async fn smtp_send(addr: SocketAddr, from: &str, to: &[&str], raw: &[u8]) -> Result<String, String> {
    let transport =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string()).port(addr.port()).build();
    let from: Address = from.parse().map_err(|e| format!("from: {e}"))?;
    let to = to.iter().map(|t| t.parse::<Address>().map_err(|e| format!("to: {e}"))).collect::<Result<Vec<_>, _>>()?;
    let envelope = Envelope::new(Some(from), to).map_err(|e| e.to_string())?;
    let response = transport.send_raw(&envelope, raw).await.map_err(|e| e.to_string())?;
    Ok(format!("{} {}", response.code(), response.message().collect::<Vec<_>>().join(" ")))
}

/// Speaks to the listener line by line: sends each of `lines` (CRLF added) and answers the
/// greeting and every reply, one string per reply (multi-line replies joined).
pub async fn smtp_dialogue(addr: SocketAddr, lines: &[&str]) -> Vec<String> {
    let stream = TcpStream::connect(addr).await.expect("connect to the SMTP listener");
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut replies = vec![read_reply(&mut read).await];
    for line in lines {
        write.write_all(format!("{line}\r\n").as_bytes()).await.expect("write");
        // Lines of a message's data get no reply of their own.
        if replies.last().is_some_and(|r| r.starts_with("354")) && *line != "." {
            continue;
        }
        replies.push(read_reply(&mut read).await);
    }
    replies
}

async fn read_reply(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    let mut whole = String::new();
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), read.read_line(&mut line))
            .await
            .expect("a reply in time")
            .expect("read");
        whole.push_str(line.trim_end());
        // `250-…` continues, `250 …` ends a reply.
        if n == 0 || line.as_bytes().get(3) != Some(&b'-') {
            return whole;
        }
        whole.push(' ');
    }
}
