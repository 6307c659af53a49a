//! The `yusa` binary: parses arguments and hands over to the library's CLI module.

use clap::Parser;

fn main() {
    // Die quietly on a closed pipe (`yusa … --json | head`), as Unix tools do, instead of
    // panicking in println!.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = yusa::cli::Args::parse();
    if let Err(e) = yusa::cli::run(cli) {
        eprintln!("error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}
