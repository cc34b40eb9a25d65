use std::process::ExitCode;

use clap::Parser;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = rollcall::cli::Cli::parse();
    let logs = rollcall::cli::init_logging(cli.log_format);
    let outcome = rollcall::cli::run(cli).await;
    // Every queued line is out before the last one.
    drop(logs);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rollcall: {e}");
            ExitCode::FAILURE
        }
    }
}
