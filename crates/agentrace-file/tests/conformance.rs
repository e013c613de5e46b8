//! The shared sink conformance suite, reading back through `JsonlReader`.

use std::sync::Arc;

use agentrace_core::testing::conformance::{self, Readback};
use agentrace_core::{BoxError, Event, Sink, SpanRecord, async_trait};
use agentrace_file::{JsonlSink, Rotation, read_events, read_spans};

struct FileReadback {
    sink: JsonlSink,
    _dir: tempfile::TempDir,
}

#[async_trait]
impl Readback for FileReadback {
    fn sink(&self) -> &dyn Sink {
        &self.sink
    }

    async fn read_spans(&self) -> Result<Vec<SpanRecord>, BoxError> {
        Ok(read_spans(self.sink.dir())?)
    }

    async fn read_events(&self) -> Result<Vec<Event>, BoxError> {
        Ok(read_events(self.sink.dir())?)
    }
}

#[tokio::test]
async fn conformance_suite() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path()).build()?;
    conformance::run(Arc::new(FileReadback { sink, _dir: dir })).await;
    Ok(())
}

#[tokio::test]
async fn conformance_suite_with_tiny_files_and_buffer() -> Result<(), Box<dyn std::error::Error>> {
    // Every record in a file of its own and a write per record: rotation and buffering must
    // not lose or reorder anything the suite checks.
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path())
        .rotation(Rotation::size(1))
        .buffer_size(1)
        .build()?;
    conformance::run(Arc::new(FileReadback { sink, _dir: dir })).await;
    Ok(())
}
