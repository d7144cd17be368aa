//! Running the graph: the pure queue, the coordinator, the kinds of work and child processes.
pub mod decide;
pub mod plan;
pub mod procs;
pub mod queue;
pub mod runner;
pub mod shell;
pub mod work;
pub mod worker;
