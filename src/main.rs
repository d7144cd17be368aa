fn main() {
    std::process::exit(dorun::main_entry());
}
