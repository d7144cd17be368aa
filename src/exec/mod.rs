//! Running the graph: the pure queue, the coordinator, the kinds of work and child processes.
pub(crate) mod decide;
pub(crate) mod plan;
pub(crate) mod procs;
pub(crate) mod queue;
pub(crate) mod runner;
pub(crate) mod shell;
pub(crate) mod step;
#[cfg(test)]
mod test_project;
pub(crate) mod waves;
pub(crate) mod work;
pub(crate) mod worker;
mod workers;
