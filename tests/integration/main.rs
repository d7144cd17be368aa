//! The one integration test binary: drives the real `dorun` executable through the `Test`
//! builder in `harness` (the Docker tests too, on `stack_fixture`), in a scrubbed environment,
//! comparing contract output exactly (`snapshot`). One module per area; add new ones below.
mod harness;
mod snapshot;
mod sys;

mod ci_github;
mod commands;
mod config;
mod crash;
mod engine;
mod engine_counter;
mod env_script;
mod errors;
mod executor;
mod large_file;
mod output;
mod plan_predicts_run;
mod plan_waves;
mod properties;
mod registry_counter;
mod request_door;
mod scrubbed_env;
mod second_engine;
mod settings_checks;
mod stack_archive;
mod stack_bases;
mod stack_build;
mod stack_buildkit;
mod stack_decision;
mod stack_fixture;
mod stack_hand_off;
mod stack_keep;
mod stack_ledger;
mod stack_leftovers;
mod stack_plan_settings;
mod stack_push;
mod stack_rebuild;
mod stack_registry_cache;
mod stack_resume;
mod stack_scale;
mod stack_secrets;
mod stack_targets;
mod stack_test;
mod stalling;
mod unavailable;
mod workflow_replay;
