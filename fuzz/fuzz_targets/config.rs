//! Server configuration files: a TOML text parsed, resolved (with an empty environment) and
//! validated; an error for what is wrong, never a panic.
#![no_main]

use agentrace_server::{ConfigLayer, ServerConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(layer) = ConfigLayer::from_toml(text) else {
        return;
    };
    let no_env = |_: &str| None;
    if let Ok(config) = ServerConfig::resolve(layer, &no_env) {
        config
            .validate()
            .expect("a resolved configuration is valid");
    }
});
