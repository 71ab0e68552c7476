//! Incremental reader of HTTP/1.1 responses.
//!
//! Rule: bytes go in as they were read, in any split; a response comes out only when complete and
//! valid. The body is framed by `Transfer-Encoding: chunked` (which wins over `Content-Length`, as
//! RFC 9112 says), else by `Content-Length`, else by the end of the connection; 1xx interim
//! responses are skipped; 204 and 304 have no body. Bytes after a complete response stay buffered
//! ([`ResponseReader::buffered`]) for the caller to judge: this client never pipelines.

use super::{find, header_lines, parse_status_line, trim, MAX_HEADER_BYTES};
use crate::error::{excerpt, HttpError};

/// Longest chunk-size line accepted (size, extensions, CRLF).
const MAX_CHUNK_LINE: usize = 1024;

/// One complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code (never 1xx).
    pub status: u16,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Head,
    Fixed(usize),
    ChunkSize,
    ChunkData(usize),
    ChunkEnd,
    Trailers,
    UntilClose,
}

/// Reads the responses of one connection.
#[derive(Debug, Clone)]
pub struct ResponseReader {
    buf: Vec<u8>,
    stage: Stage,
    status: u16,
    keep_alive: bool,
    body: Vec<u8>,
    max_body: usize,
    /// Where the search for the end of the header block resumes.
    scanned: usize,
}

struct Head {
    status: u16,
    keep_alive: bool,
    framing: Stage,
}

impl ResponseReader {
    /// A reader refusing bodies larger than `max_body` bytes.
    pub fn new(max_body: usize) -> Self {
        Self {
            buf: Vec::new(),
            stage: Stage::Head,
            status: 0,
            keep_alive: false,
            body: Vec::new(),
            max_body,
            scanned: 0,
        }
    }

    /// Bytes received and not yet part of a returned response.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True between responses (nothing of a next one received yet).
    pub fn is_idle(&self) -> bool {
        self.stage == Stage::Head && self.buf.is_empty()
    }

    /// Feed bytes read from the connection; returns the response they complete, if any.
    /// After an error the reader must not be used again (close the connection).
    pub fn receive_data(&mut self, data: &[u8]) -> Result<Option<Response>, HttpError> {
        self.buf.extend_from_slice(data);
        let mut pos = 0;
        let result = self.advance(&mut pos);
        self.buf.drain(..pos);
        result
    }

    /// The connection ended: completes an until-close body; anything else half-read is an error.
    pub fn receive_eof(&mut self) -> Result<Option<Response>, HttpError> {
        match self.stage {
            Stage::UntilClose => {
                self.body.extend_from_slice(&self.buf);
                self.buf.clear();
                self.check_body_size(0)?;
                self.keep_alive = false;
                Ok(Some(self.finish()))
            }
            Stage::Head if self.buf.is_empty() => Ok(None),
            _ => Err(HttpError::Truncated),
        }
    }

    fn finish(&mut self) -> Response {
        self.stage = Stage::Head;
        self.scanned = 0;
        Response {
            status: self.status,
            body: std::mem::take(&mut self.body),
            keep_alive: self.keep_alive,
        }
    }

    fn check_body_size(&self, more: usize) -> Result<(), HttpError> {
        let size = self.body.len().saturating_add(more);
        if size > self.max_body {
            return Err(HttpError::BodyTooLarge {
                size: size as u64,
                max: self.max_body,
            });
        }
        Ok(())
    }

    /// Consume `self.buf[*pos..]` as far as possible.
    fn advance(&mut self, pos: &mut usize) -> Result<Option<Response>, HttpError> {
        loop {
            let rest = &self.buf[*pos..];
            match self.stage {
                Stage::Head => {
                    let Some(end) = find_block_end(rest, true, &mut self.scanned)? else {
                        return Ok(None);
                    };
                    let head = parse_head(&rest[..end + 2])?;
                    *pos += end + 4;
                    self.scanned = 0;
                    if head.status < 200 {
                        continue; // interim response: the real one follows
                    }
                    self.status = head.status;
                    self.keep_alive = head.keep_alive;
                    self.body.clear();
                    if let Stage::Fixed(length) = head.framing {
                        self.check_body_size(length)?;
                    }
                    self.stage = head.framing;
                    if self.stage == Stage::Fixed(0) {
                        return Ok(Some(self.finish()));
                    }
                }
                Stage::Fixed(length) => {
                    if rest.len() < length {
                        return Ok(None);
                    }
                    self.body.extend_from_slice(&rest[..length]);
                    *pos += length;
                    return Ok(Some(self.finish()));
                }
                Stage::ChunkSize => {
                    let Some(end) = find(&rest[..rest.len().min(MAX_CHUNK_LINE)], b"\r\n", 0)
                    else {
                        return if rest.len() >= MAX_CHUNK_LINE {
                            Err(HttpError::MalformedChunk)
                        } else {
                            Ok(None)
                        };
                    };
                    let size = parse_chunk_size(&rest[..end])?;
                    self.check_body_size(size)?;
                    *pos += end + 2;
                    self.stage = if size == 0 {
                        Stage::Trailers
                    } else {
                        Stage::ChunkData(size)
                    };
                }
                Stage::ChunkData(size) => {
                    if rest.len() < size {
                        return Ok(None);
                    }
                    self.body.extend_from_slice(&rest[..size]);
                    *pos += size;
                    self.stage = Stage::ChunkEnd;
                }
                Stage::ChunkEnd => {
                    if rest.len() < 2 {
                        return Ok(None);
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(HttpError::MalformedChunk);
                    }
                    *pos += 2;
                    self.stage = Stage::ChunkSize;
                }
                Stage::Trailers => {
                    // Trailer lines (ignored) up to an empty line.
                    if rest.starts_with(b"\r\n") {
                        *pos += 2;
                        return Ok(Some(self.finish()));
                    }
                    let Some(end) = find_block_end(rest, false, &mut self.scanned)? else {
                        return Ok(None);
                    };
                    if header_lines(&rest[..end + 2]).any(|line| line.is_none()) {
                        return Err(HttpError::MalformedHeader);
                    }
                    *pos += end + 4;
                    return Ok(Some(self.finish()));
                }
                Stage::UntilClose => {
                    self.check_body_size(rest.len())?;
                    self.body.extend_from_slice(rest);
                    *pos += rest.len();
                    return Ok(None);
                }
            }
        }
    }
}

/// Offset of the `\r\n\r\n` ending the header (or trailer) block at the start of `rest`;
/// `scanned` is where the search resumes on the next call.
fn find_block_end(
    rest: &[u8],
    status_line_first: bool,
    scanned: &mut usize,
) -> Result<Option<usize>, HttpError> {
    if status_line_first {
        let prefix = b"HTTP/";
        let n = rest.len().min(prefix.len());
        if rest[..n] != prefix[..n] {
            return Err(HttpError::MalformedStatusLine);
        }
    }
    let window = &rest[..rest.len().min(MAX_HEADER_BYTES)];
    match find(window, b"\r\n\r\n", *scanned) {
        Some(end) => Ok(Some(end)),
        None if rest.len() >= MAX_HEADER_BYTES => Err(HttpError::HeaderTooLarge),
        None => {
            *scanned = window.len().saturating_sub(3);
            Ok(None)
        }
    }
}

/// Parse a header block: the status line and header lines, each ending in `\r\n`.
fn parse_head(block: &[u8]) -> Result<Head, HttpError> {
    let line_end = find(block, b"\r\n", 0).unwrap_or(block.len());
    let status = parse_status_line(&block[..line_end]).ok_or(HttpError::MalformedStatusLine)?;
    if status.code == 101 {
        return Err(HttpError::UnexpectedUpgrade);
    }
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let (mut close, mut keep_alive_token) = (false, false);
    for line in header_lines(block.get(line_end + 2..).unwrap_or(b"")) {
        let (name, value) = line.ok_or(HttpError::MalformedHeader)?;
        if name.eq_ignore_ascii_case(b"content-length") {
            for part in value.split(|&b| b == b',') {
                let length = parse_content_length(trim(part))?;
                if content_length.is_some_and(|known| known != length) {
                    return Err(HttpError::BadContentLength);
                }
                content_length = Some(length);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            for coding in value.split(|&b| b == b',').map(trim) {
                if coding.is_empty() {
                    continue;
                }
                if !coding.eq_ignore_ascii_case(b"chunked") || chunked {
                    return Err(HttpError::UnsupportedTransferEncoding(excerpt(
                        &String::from_utf8_lossy(value),
                    )));
                }
                chunked = true;
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    let no_body = status.code < 200 || status.code == 204 || status.code == 304;
    let framing = if no_body {
        Stage::Fixed(0)
    } else if chunked {
        Stage::ChunkSize
    } else if let Some(length) = content_length {
        Stage::Fixed(length)
    } else {
        Stage::UntilClose
    };
    let keep_alive =
        framing != Stage::UntilClose && !close && (status.minor_version == 1 || keep_alive_token);
    Ok(Head {
        status: status.code,
        keep_alive,
        framing,
    })
}

fn parse_content_length(digits: &[u8]) -> Result<usize, HttpError> {
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(HttpError::BadContentLength);
    }
    Ok(digits
        .iter()
        .fold(0usize, |a, d| a * 10 + usize::from(d - b'0')))
}

/// `1a;ext=1` → 26.
fn parse_chunk_size(line: &[u8]) -> Result<usize, HttpError> {
    let size = line.split(|&b| b == b';').next().map_or(&b""[..], trim);
    if size.is_empty() || size.len() > 15 {
        return Err(HttpError::MalformedChunk);
    }
    size.iter().try_fold(0usize, |a, &d| {
        let digit = (d as char).to_digit(16).ok_or(HttpError::MalformedChunk)?;
        Ok(a * 16 + digit as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JANUS_PONG: &[u8] = b"HTTP/1.1 200 OK\r\nDate: Wed, 25 Nov 2026 22:52:19 GMT\r\n\
        Content-Type: application/json\r\nAccess-Control-Allow-Origin: *\r\n\
        Access-Control-Max-Age: 86400\r\nTransfer-Encoding: chunked\r\n\r\n\
        36\r\n{\n   \"janus\": \"pong\",\n   \"transaction\": \"abcdefghij\"\n}\r\n0\r\n\r\n";

    fn read_all(bytes: &[u8], split: usize) -> Result<Vec<Response>, HttpError> {
        let mut reader = ResponseReader::new(1 << 20);
        let mut out = Vec::new();
        for piece in bytes.chunks(split.max(1)) {
            if let Some(response) = reader.receive_data(piece)? {
                out.push(response);
            }
        }
        if let Some(response) = reader.receive_eof()? {
            out.push(response);
        }
        Ok(out)
    }

    #[test]
    fn janus_chunked_reply_in_every_split() {
        for split in 1..JANUS_PONG.len() + 1 {
            let responses = read_all(JANUS_PONG, split).unwrap();
            assert_eq!(responses.len(), 1, "split {split}");
            assert_eq!(responses[0].status, 200);
            assert!(responses[0].keep_alive);
            assert_eq!(
                responses[0].body,
                b"{\n   \"janus\": \"pong\",\n   \"transaction\": \"abcdefghij\"\n}"
            );
        }
    }

    #[test]
    fn content_length_and_several_responses_in_sequence() {
        let one = b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!";
        let mut reader = ResponseReader::new(100);
        for _ in 0..3 {
            let response = reader.receive_data(one).unwrap().unwrap();
            assert_eq!((response.status, &response.body[..]), (404, &b"nope!"[..]));
            assert!(reader.is_idle());
        }
    }

    #[test]
    fn bytes_after_a_response_stay_buffered() {
        let mut reader = ResponseReader::new(100);
        let response = reader
            .receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}extra")
            .unwrap()
            .unwrap();
        assert_eq!(response.body, b"{}");
        assert_eq!(reader.buffered(), 5);
        assert!(!reader.is_idle());
    }

    #[test]
    fn interim_responses_are_skipped_and_bodyless_statuses_have_no_body() {
        let bytes = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        let responses = read_all(bytes, 7).unwrap();
        assert_eq!(responses.len(), 1);
        assert_eq!((responses[0].status, responses[0].body.len()), (204, 0));
    }

    #[test]
    fn body_until_close_and_connection_semantics() {
        let responses = read_all(b"HTTP/1.0 200 OK\r\n\r\n{\"janus\":\"ack\"}", 3).unwrap();
        assert_eq!(responses[0].body, b"{\"janus\":\"ack\"}");
        assert!(!responses[0].keep_alive);
        let close = read_all(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            4,
        )
        .unwrap();
        assert!(!close[0].keep_alive);
        let old = read_all(
            b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
            4,
        )
        .unwrap();
        assert!(old[0].keep_alive);
    }

    #[test]
    fn chunk_extensions_and_trailers() {
        let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n\
            3;name=v\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n";
        for split in 1..bytes.len() {
            let responses = read_all(bytes, split).unwrap();
            assert_eq!(responses[0].body, b"abcde", "split {split}");
        }
    }

    #[test]
    fn malformed_input_is_a_typed_error() {
        let cases: [(&[u8], HttpError); 10] = [
            (b"SSH-2.0-OpenSSH\r\n", HttpError::MalformedStatusLine),
            (b"HTTP/1.1 2x0 OK\r\n\r\n", HttpError::MalformedStatusLine),
            (
                b"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
                HttpError::MalformedHeader,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                HttpError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                HttpError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                HttpError::UnsupportedTransferEncoding("gzip, chunked".into()),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                HttpError::MalformedChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
                HttpError::MalformedChunk,
            ),
            (
                b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
                HttpError::UnexpectedUpgrade,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
                HttpError::Truncated,
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(read_all(bytes, 1000), Err(expected.clone()), "{expected:?}");
        }
    }

    #[test]
    fn limits_hold() {
        let mut reader = ResponseReader::new(4);
        assert_eq!(
            reader.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
            Err(HttpError::BodyTooLarge { size: 5, max: 4 })
        );
        let mut reader = ResponseReader::new(4);
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\n";
        assert_eq!(
            reader.receive_data(chunked),
            Err(HttpError::BodyTooLarge { size: 6, max: 4 })
        );
        let mut reader = ResponseReader::new(4);
        assert!(reader
            .receive_data(b"HTTP/1.0 200 OK\r\n\r\nabcde")
            .is_err());
        let mut reader = ResponseReader::new(4);
        let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
        huge.resize(MAX_HEADER_BYTES + 10, b'a');
        assert_eq!(reader.receive_data(&huge), Err(HttpError::HeaderTooLarge));
        let mut reader = ResponseReader::new(4);
        let long_chunk = [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            &[b'0'; 2000],
        ]
        .concat();
        assert_eq!(
            reader.receive_data(&long_chunk),
            Err(HttpError::MalformedChunk)
        );
    }

    #[test]
    fn clean_eof_between_responses_is_not_an_error() {
        let mut reader = ResponseReader::new(10);
        assert_eq!(reader.receive_eof(), Ok(None));
        assert!(reader.receive_data(b"HTTP/1.1 2").unwrap().is_none());
        assert_eq!(reader.receive_eof(), Err(HttpError::Truncated));
    }
}
