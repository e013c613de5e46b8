//! The filter syntax (`agentrace_core::search`): any text is a query or an error naming a
//! token inside it, never a panic; a query reads back from its canonical form as the same.
#![no_main]

use agentrace_core::search::Query;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match Query::parse(text) {
        Ok(query) => {
            let written = query.to_string();
            let again = Query::parse(&written).expect("a query's canonical form reads back");
            assert_eq!(again.to_string(), written, "from {text:?}");
        }
        Err(e) => {
            assert!(e.at.start <= e.at.end && e.at.end <= text.len(), "{e:?} in {text:?}");
            let _ = e.pointer(text);
        }
    }
});
