//! Fuzz the HTTP response reader. Oracles: no panic; the responses and the error are the same
//! whether the input arrives whole or one byte at a time.
#![no_main]

use janus_proto::http::ResponseReader;
use libfuzzer_sys::fuzz_target;

fn read(data: &[u8], step: usize) -> (Vec<(u16, Vec<u8>, bool)>, bool) {
    let mut reader = ResponseReader::new(4096);
    let mut out = Vec::new();
    for piece in data.chunks(step) {
        let mut piece = piece;
        loop {
            match reader.receive_data(piece) {
                Ok(Some(r)) => {
                    out.push((r.status, r.body, r.keep_alive));
                    piece = &[];
                }
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    match reader.receive_eof() {
        Ok(Some(r)) => out.push((r.status, r.body, r.keep_alive)),
        Ok(None) => {}
        Err(_) => return (out, true),
    }
    (out, false)
}

fuzz_target!(|data: &[u8]| {
    assert_eq!(read(data, data.len().max(1)), read(data, 1));
});
