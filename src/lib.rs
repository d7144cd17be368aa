//! dorun: a declarative task runner whose first-class job is a stack of Docker images.
pub fn main_entry() -> i32 {
    0
}
