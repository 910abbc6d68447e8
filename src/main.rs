//! `fnjit`: the command-line face of the crate. All the work is in `cli`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
