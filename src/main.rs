//! The `wirefeed` binary: a thin shell over the library (see `cli`).

fn main() -> std::process::ExitCode {
    wirefeed::cli::main()
}
