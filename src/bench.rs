//! `clinicos bench` (being written).

use clap::Args;

#[derive(Args, Debug)]
pub struct BenchArgs {}

pub async fn run(_a: BenchArgs) -> Result<(), String> {
    Err("bench is not available yet".into())
}
