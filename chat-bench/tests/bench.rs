//! `chat-bench` against a server it spawns: its accounting must find a clean run clean, in
//! direct rooms and in group rooms, and must report deliveries discarded on purpose as lost;
//! populations are reused; refusals are reported by the server's bound that made them;
//! find-max and idle mode produce their reports; without a server to load it says what it
//! needs.
//!
//! `--spawn` starts the `chat` binary of chat-cli, which `cargo test` of this package alone
//! does not build: the tests take `CHAT_BIN`, else `chat` beside `chat-bench` in the target
//! folder (built by `cargo test --workspace`, or `cargo build -p chat-cli`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BENCH: &str = env!("CARGO_BIN_EXE_chat-bench");

/// The server binary `--spawn` starts.
fn chat_bin() -> PathBuf {
    let path = match std::env::var_os("CHAT_BIN") {
        Some(path) => PathBuf::from(path),
        None => Path::new(BENCH).with_file_name("chat"),
    };
    assert!(
        path.is_file(),
        "no chat binary at {}: run `cargo build -p chat-cli` (or the workspace's tests), \
         or set CHAT_BIN",
        path.display()
    );
    path
}

/// `chat-bench` with no inherited server settings.
fn command() -> Command {
    let mut command = Command::new(BENCH);
    for name in [
        "CHAT_BIN",
        "CHAT_JWT_SECRET",
        "CHAT_MONGO_URL",
        "CHAT_MONGO_DB",
    ] {
        command.env_remove(name);
    }
    command
}

/// Runs `chat-bench --spawn --json` with `extra` flags and returns the report.
fn bench(data_dir: &Path, extra: &[&str]) -> Value {
    bench_with_env(data_dir, &[], extra)
}

/// [`bench`] with `env` set for the spawned server too.
fn bench_with_env(data_dir: &Path, env: &[(&str, &str)], extra: &[&str]) -> Value {
    let output = command()
        .envs(env.iter().copied())
        .args(["--spawn", "--json", "--users", "20", "--warmup", "0s"])
        .arg("--server-bin")
        .arg(chat_bin())
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .output()
        .expect("chat-bench runs");
    assert!(
        output.status.success(),
        "chat-bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the report is JSON")
}

fn count(step: &Value, name: &str) -> u64 {
    step["counts"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {name}: {step}"))
}

#[test]
fn a_clean_run_delivers_everything_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let report = bench(dir.path(), &["--rate", "100", "--duration", "2s"]);
    assert_eq!(report["connect"]["opened"], 20);
    assert_eq!(report["rooms"], 10);
    let step = &report["steps"][0];
    assert_eq!(count(step, "sent"), 200);
    assert_eq!(count(step, "refused"), 0);
    // Each message reaches both members' sockets, the sender's echo included.
    assert_eq!(count(step, "expected"), 400);
    assert_eq!(count(step, "delivered"), 400);
    for problem in ["lost", "duplicated", "out_of_order", "misdelivered"] {
        assert_eq!(count(step, problem), 0, "{problem}: {step}");
    }
    assert!(step["latency_ms"]["p50"].as_f64().unwrap() > 0.0);
    assert!(step["server_rss_bytes"].as_u64().unwrap() > 0);
    let per_message = step["server_us_per_message"].as_f64().unwrap();
    assert!(per_message.is_finite() && per_message >= 0.0, "{step}");
}

/// A server whose scheduling bound is zero refuses sends as `overloaded` (its monitor's ticks
/// are always a little late); the report names that bound for every one of them, read from
/// the server's metrics.
#[test]
fn refusals_are_reported_by_the_bound_that_made_them() {
    let dir = tempfile::tempdir().unwrap();
    let report = bench_with_env(
        dir.path(),
        &[("CHAT_SCHEDULING_DELAY_TARGET_MS", "0")],
        &["--rate", "200", "--duration", "2s"],
    );
    let step = &report["steps"][0];
    let overloaded = step["refusals"]["overloaded"].as_u64().unwrap_or(0);
    assert!(overloaded > 0, "nothing refused: {step}");
    assert_eq!(
        step["overloaded_by_bound"],
        serde_json::json!({ "scheduling_delay": overloaded }),
        "{step}"
    );
}

#[test]
fn a_clean_run_in_group_rooms_delivers_to_every_member_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let report = bench(
        dir.path(),
        &["--room-size", "5", "--rate", "100", "--duration", "2s"],
    );
    assert_eq!(report["room_size"], 5);
    assert_eq!(report["rooms"], 4);
    assert_eq!(report["setup"]["rooms_opened"], 4);
    let step = &report["steps"][0];
    assert_eq!(count(step, "sent"), 200);
    assert_eq!(count(step, "refused"), 0);
    // Each message reaches the four other members' sockets and the sender's echo.
    assert_eq!(count(step, "expected"), 1000);
    assert_eq!(count(step, "delivered"), 1000);
    for problem in ["lost", "duplicated", "out_of_order", "misdelivered"] {
        assert_eq!(count(step, problem), 0, "{problem}: {step}");
    }
    assert_eq!(step["expected_per_s"], 500.0);

    // The same users, paired into direct rooms next, are found rather than created again.
    let direct = bench(dir.path(), &["--rate", "50", "--duration", "1s"]);
    assert_eq!(direct["setup"]["users_created"], 0);
    assert_eq!(direct["rooms"], 10);
    assert_eq!(count(&direct["steps"][0], "delivered"), 100);
}

#[test]
fn discarded_deliveries_are_reported_lost_and_the_population_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let first = bench(dir.path(), &["--rate", "50", "--duration", "1s"]);
    assert_eq!(first["setup"]["users_created"], 20);
    assert_eq!(count(&first["steps"][0], "lost"), 0);

    let second = bench(
        dir.path(),
        &["--rate", "100", "--duration", "2s", "--drop-every", "7"],
    );
    assert_eq!(second["setup"]["users_created"], 0);
    assert_eq!(second["setup"]["rooms_opened"], 0);
    let step = &second["steps"][0];
    let dropped = step["dropped"].as_u64().unwrap();
    assert!(dropped >= 400 / 7 - 1, "dropped {dropped}");
    assert_eq!(count(step, "lost"), dropped, "{step}");
    assert_eq!(count(step, "delivered") + dropped, count(step, "expected"));
    assert_eq!(count(step, "duplicated"), 0);
}

#[test]
fn find_max_steps_up_and_idle_mode_reports_memory_per_socket() {
    let dir = tempfile::tempdir().unwrap();
    let search = bench(
        dir.path(),
        &[
            "--find-max",
            "--rate",
            "40",
            "--step-factor",
            "2",
            "--max-steps",
            "2",
            "--duration",
            "1s",
            "--max-p99-ms",
            "5000",
        ],
    );
    let steps = search["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[1]["rate"], 80.0);
    assert_eq!(search["find_max"]["max_rate"], 80.0);

    let idle = bench(dir.path(), &["--idle", "1s", "--sockets", "40"]);
    assert_eq!(idle["idle"]["sockets"], 40);
    assert!(idle["idle"]["server_bytes_per_socket"].is_number());
    assert!(idle["steps"].as_array().unwrap().is_empty());
}

#[test]
fn a_short_soak_reports_memory_fds_and_latency_per_interval_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = bench(
        dir.path(),
        &[
            "--soak",
            "3s",
            "--soak-interval",
            "1s",
            "--sockets",
            "40",
            "--rate",
            "50",
        ],
    );
    let soak = &report["soak"];
    let intervals = soak["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), 3, "{soak}");
    for interval in intervals {
        assert_eq!(interval["sockets_open"], 40, "{interval}");
        assert_eq!(interval["sent"], 50, "{interval}");
        assert_eq!(interval["lost"], 0, "{interval}");
        assert!(interval["server_rss_bytes"].as_u64().unwrap() > 0);
        assert!(interval["server_fds"].as_u64().unwrap() >= 40, "{interval}");
        assert!(interval["p99_ms"].is_number());
    }
    assert_eq!(soak["lost"], 0);
    assert_eq!(soak["duplicated"], 0);
    assert!(soak["fd_change_after_first"].is_i64());
    assert_eq!(report["steps"].as_array().unwrap().len(), 3);
}

#[test]
fn without_url_or_spawn_it_asks_for_one_of_them() {
    let output = command().args(["--users", "2"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--url <URL>|--spawn"),
        "unexpected message: {stderr}"
    );
}
