//! The container image the deployment tests run (`tests/integration/tests/deploy.rs`):
//! `deploy/Containerfile`'s runtime stage around the `agentrace` binary this run built, on a
//! Debian base made from Debian's packages, since no registry can be reached in CI.

use std::path::PathBuf;
use std::process::Command;

use crate::{root, step, target_dir};

/// The image the deployment tests run (their `AGENTRACE_IMAGE`).
pub(crate) const TEST_IMAGE: &str = "localhost/agentrace:ci";

/// The runtime stage's base: Debian bookworm, imported from a root file system.
const BASE_IMAGE: &str = "localhost/debian:bookworm";

/// Podman's settings for the suite (`CONTAINERS_CONF`): never the machine's own files.
fn containers_conf() -> PathBuf {
    root()
        .join("tests")
        .join("integration")
        .join("deploy")
        .join("containers.conf")
}

fn podman(args: &[&str]) -> Command {
    let mut podman = Command::new("podman");
    podman.args(args).env("CONTAINERS_CONF", containers_conf());
    podman
}

/// Builds [`TEST_IMAGE`] from `target/debug/agentrace`, making the base image first when
/// Podman does not have it, then drops the images earlier builds left without a name.
pub(crate) fn build_test_image() -> Result<(), String> {
    let base_exists = podman(&["image", "exists", BASE_IMAGE])
        .status()
        .map_err(|e| format!("podman: {e} (scripts/install-test-deps.sh installs it)"))?;
    if !base_exists.success() {
        let rootfs = target_dir().join("debian-bookworm-rootfs.tar");
        let mut debootstrap = Command::new("mmdebstrap");
        debootstrap
            .args([
                "--variant=apt",
                "--include=ca-certificates",
                "--quiet",
                "bookworm",
            ])
            .arg(&rootfs);
        step(
            "integration: the base image's root file system (mmdebstrap)",
            debootstrap,
        )?;
        let rootfs_path = rootfs.to_string_lossy().into_owned();
        let imported = step(
            "integration: import the base image",
            podman(&["import", &rootfs_path, BASE_IMAGE]),
        );
        // Podman keeps the image; the archive would only take disk.
        let _ = std::fs::remove_file(&rootfs);
        imported?;
    }
    let binary = target_dir().join("debug").join("agentrace");
    let mut build = Command::new("bash");
    build
        .arg(root().join("scripts").join("build-image.sh"))
        .arg("--binary")
        .arg(binary)
        .args(["--base", BASE_IMAGE, "--tag", TEST_IMAGE])
        .env("CONTAINERS_CONF", containers_conf());
    step(
        "integration: the container image (scripts/build-image.sh)",
        build,
    )?;
    step(
        "integration: drop unnamed images of earlier builds",
        podman(&["image", "prune", "--force"]),
    )
}
