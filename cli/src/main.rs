//! `fnjit`: the command-line face of the crate. All the work is in `fnjit_cli`.

fn main() -> std::process::ExitCode {
    fnjit_cli::main()
}
