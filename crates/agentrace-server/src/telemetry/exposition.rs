//! The Prometheus text exposition format, as the server's own metrics write it.

/// A label value in the text format: backslash, quote and newline escaped.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
