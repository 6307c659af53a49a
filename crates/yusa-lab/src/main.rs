//! The `yusa-lab` binary: parses arguments and hands over to the lab's CLI module.

use clap::Parser;

fn main() {
    // As `yusa`: die quietly on a closed pipe.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if let Err(e) = yusa_lab::cli::run(yusa_lab::cli::Args::parse()) {
        eprintln!("error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}
