//! `/metrics` over HTTP: the standalone server (which serves the router), binding errors,
//! stopping.

mod common;

use std::net::{SocketAddr, TcpListener};

use agentrace_core::{InstrumentKind, Measurement, MetricSink};
use agentrace_prometheus::{CONTENT_TYPE_TEXT, DEFAULT_ADDR, PrometheusSink, ServeError};
use common::{http_get, parse, value};

fn loopback_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn sink() -> PrometheusSink {
    match PrometheusSink::new() {
        Ok(sink) => sink,
        Err(e) => panic!("build: {e}"),
    }
}

#[tokio::test]
async fn metrics_are_served_and_follow_new_measurements() {
    let sink = sink();
    let server = match sink.serve(loopback_any()) {
        Ok(s) => s,
        Err(e) => panic!("serve: {e}"),
    };
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    assert_eq!(server.url(), format!("http://{addr}/metrics"));

    let counter = Measurement::new("agentrace.agent.runs", InstrumentKind::Counter, 1.0);
    assert!(
        sink.export_measurements(std::slice::from_ref(&counter))
            .await
            .is_ok()
    );
    let first = match http_get(addr, "/metrics") {
        Ok(r) => r,
        Err(e) => panic!("GET: {e}"),
    };
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), Some(CONTENT_TYPE_TEXT));
    assert_eq!(
        value(&parse(&first.body), "agentrace_agent_runs_total", &[]),
        1.0
    );

    assert!(sink.export_measurements(&[counter]).await.is_ok());
    let second = match http_get(addr, "/metrics") {
        Ok(r) => r,
        Err(e) => panic!("GET: {e}"),
    };
    assert_eq!(
        value(&parse(&second.body), "agentrace_agent_runs_total", &[]),
        2.0
    );

    let missing = match http_get(addr, "/other") {
        Ok(r) => r,
        Err(e) => panic!("GET: {e}"),
    };
    assert_eq!(missing.status, 404);
    assert!(server.stop().is_ok());
}

#[test]
fn a_busy_address_is_reported_with_the_address() {
    let taken = match TcpListener::bind(loopback_any()) {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    let addr = match taken.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    };
    let result = sink().serve(addr);
    match result {
        Err(ServeError::Bind {
            addr: reported,
            source,
        }) => {
            assert_eq!(reported, addr);
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
            let message = ServeError::Bind { addr, source }.to_string();
            assert!(message.contains(&addr.to_string()), "{message}");
        }
        other => panic!("expected a bind error, got {other:?}"),
    }
}

#[test]
fn stopping_or_dropping_the_handle_frees_the_port() {
    let sink = sink();
    let server = match sink.serve(loopback_any()) {
        Ok(s) => s,
        Err(e) => panic!("serve: {e}"),
    };
    let addr = server.local_addr();
    // An open keep-alive connection does not hold the server up.
    let idle = std::net::TcpStream::connect(addr);
    assert!(idle.is_ok());
    assert!(server.stop().is_ok());
    assert!(http_get(addr, "/metrics").is_err(), "still serving");
    let again = match sink.serve(addr) {
        Ok(s) => s,
        Err(e) => panic!("the port was not freed: {e}"),
    };
    drop(again);
    assert!(
        http_get(addr, "/metrics").is_err(),
        "still serving after drop"
    );
}

#[test]
fn the_default_address_is_loopback_9464() {
    assert_eq!(DEFAULT_ADDR, SocketAddr::from(([127, 0, 0, 1], 9464)));
}
