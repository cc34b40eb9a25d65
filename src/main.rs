use std::process::ExitCode;

use clap::Parser;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = rollcall::cli::Cli::parse();
    rollcall::cli::init_logging(cli.log_format);
    match rollcall::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rollcall: {e}");
            ExitCode::FAILURE
        }
    }
}
