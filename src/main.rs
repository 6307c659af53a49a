//! The `yusa` binary: parses arguments and hands over to the library's CLI module.

use clap::Parser;

fn main() {
    let cli = yusa::cli::Cli::parse();
    if let Err(e) = yusa::cli::run(cli) {
        eprintln!("error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}
