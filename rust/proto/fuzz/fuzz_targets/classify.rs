//! Fuzz the Janus classifier. Oracles: no panic; every message's byte range parses as one JSON
//! object whose `janus`, `transaction`, `session_id` and `sender` agree with the classification.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(msgs) = janus_proto::classify(Arc::from(data)) else {
        return;
    };
    for m in msgs {
        // Unpaired surrogate escapes and huge numbers are valid JSON grammar that Value rejects.
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(m.bytes()) else {
            continue;
        };
        let o = v.as_object().expect("an object");
        assert_eq!(o["janus"].as_str(), Some(m.kind.as_str()));
        assert_eq!(
            o.get("transaction").and_then(|t| t.as_str()),
            m.transaction()
        );
        assert_eq!(o.get("session_id").and_then(|t| t.as_u64()), m.session_id);
        assert_eq!(o.get("sender").and_then(|t| t.as_u64()), m.sender);
    }
});
