//! The one integration test binary: drives the real `dorun` executable through the `Test`
//! builder in `harness`. One module per area; add new ones (e.g. the Docker tests) below.
mod harness;
mod sys;

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
mod properties;
mod settings_checks;
mod stack_build;
mod stack_decision;
mod stack_fixture;
mod stack_ledger;
mod stack_leftovers;
mod stack_push;
mod stack_resume;
mod stack_test;
mod stalling;
mod unavailable;
