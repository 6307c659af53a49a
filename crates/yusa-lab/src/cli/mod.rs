//! The `yusa-lab` command line: training, the hyper-parameter search and evaluations. It shares the
//! global options and engine arguments of the `yusa` command (which hands `train`, `tune` and
//! `eval` here), so `yusa train …` and `yusa-lab train …` are the same command.

pub mod eval;
pub mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};
use yusa::cli::Cli;

#[derive(Parser, Debug)]
#[command(
    name = "yusa-lab",
    version,
    about = "yusa's lab: fine-tune models, search hyper-parameters, evaluate (also run as `yusa train|tune|eval`)"
)]
pub struct Args {
    #[command(flatten)]
    pub globals: Cli,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fine-tune models.
    Train {
        #[command(subcommand)]
        command: TrainCommand,
    },
    /// Hyper-parameter search for the cross-encoder (random search with pruning, then a seed grid).
    Tune(train::TuneArgs),
    /// Evaluation: duplicate decisions, STS, retrieval quality on BEIR-layout sets, data converters.
    Eval {
        #[command(subcommand)]
        command: eval::EvalCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum TrainCommand {
    /// Fine-tune a pair model (STS 0–5, or a yes/no duplicate model with BCE on 0/5 labels) from an
    /// encoder directory.
    #[command(name = "cross-encoder")]
    CrossEncoder(train::TrainArgs),
    /// Fine-tune a bi-encoder contrastively (hard negatives) and with CoSENT on scored pairs.
    #[command(name = "bi-encoder")]
    BiEncoder(train::BiTrainArgs),
    /// Fit a trained cross-encoder's blend with a bi-encoder's cosine on a dev set.
    Blend(train::BlendArgs),
    /// Fit the sentiment head (logistic regression on the bi-encoder's vectors) on rated texts.
    Sentiment(train::SentimentArgs),
}

pub fn run(args: Args) -> Result<()> {
    yusa::cli::init_logging(args.globals.verbose);
    let cli = &args.globals;
    match &args.command {
        Command::Tune(a) => train::run_tune(cli, a),
        Command::Eval { command } => eval::run_eval(cli, command),
        Command::Train {
            command: TrainCommand::CrossEncoder(a),
        } => train::run_train(cli, a),
        Command::Train {
            command: TrainCommand::Blend(a),
        } => train::run_blend(cli, a),
        Command::Train {
            command: TrainCommand::BiEncoder(a),
        } => train::run_train_bi(cli, a),
        Command::Train {
            command: TrainCommand::Sentiment(a),
        } => train::run_sentiment(cli, a),
    }
}
