//! `hushmark`: see the library crate docs and `hushmark --help`.

fn main() -> std::process::ExitCode {
    hushmark::main()
}
