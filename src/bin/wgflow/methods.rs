//! `wgflow methods`: every method preset, what it is and where it comes from.

/// Prints the table of [`wgflow::config::METHODS`].
pub fn run() -> wgflow::Result<()> {
    println!("{:<15} {:<22} description", "method", "source");
    for m in wgflow::config::METHODS {
        println!("{:<15} {:<22} {}", m.name, m.source, m.description);
    }
    println!("\nUse one with `wgflow run --method NAME`, `wgflow run ring --method NAME`, `--methods A,B` of the");
    println!("experiments and sweeps, or `RunConfig::preset(\"NAME\")` in Rust.");
    Ok(())
}
