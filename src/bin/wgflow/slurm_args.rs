//! The `wgflow sweep --emit slurm` options (flattened into `SweepArgs`).

use std::path::PathBuf;
use wgflow::runs::slurm::{SlurmOptions, DEFAULT_SIGNAL_BEFORE};
use wgflow::Error;

#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Slurm script (--emit slurm)")]
pub struct SlurmArgs {
    /// GPUs per array task: 0 runs on the CPU and requests no GPU; 1 requests --gres=RESOURCE:1 and runs on cuda:0.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "emit")]
    gpus_per_task: u32,
    /// The site's GPU generic resource, with its type if needed: gpu, gpu:a100, ...
    #[arg(long, value_name = "RESOURCE", default_value = "gpu", requires = "emit")]
    gpu_resource: String,
    /// Slurm partition (default: the cluster's default partition).
    #[arg(long, requires = "emit")]
    partition: Option<String>,
    /// Time limit per task: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (default: the partition's).
    #[arg(long, value_name = "TIME", requires = "emit")]
    time: Option<String>,
    /// Account charged for the jobs.
    #[arg(long, requires = "emit")]
    account: Option<String>,
    /// CPUs per task; also libtorch's threads in the task (OMP_NUM_THREADS).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "emit")]
    cpus_per_task: u32,
    /// An extra #SBATCH line, e.g. --sbatch=--mem=4G (repeat for more).
    #[arg(long = "sbatch", value_name = "OPTION", requires = "emit", allow_hyphen_values = true)]
    sbatch: Vec<String>,
    /// Slurm sends SIGUSR1 this many seconds before the time limit: wgflow checkpoints, the task is requeued (0: no signal).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_SIGNAL_BEFORE, requires = "emit")]
    signal_before: u32,
    /// Do not requeue a task stopped before its time limit (resubmit the script to continue it).
    #[arg(long, requires = "emit")]
    no_requeue: bool,
    /// The jobs' name.
    #[arg(long, value_name = "NAME", default_value = "wgflow-sweep", requires = "emit")]
    job_name: String,
}

impl SlurmArgs {
    /// The script's options; a bad value is an error naming its flag.
    pub fn options(&self, exe: PathBuf, checkpoint_every: usize) -> wgflow::Result<SlurmOptions> {
        let opts = SlurmOptions {
            exe,
            checkpoint_every,
            job_name: self.job_name.clone(),
            gpus: self.gpus_per_task,
            gpu_resource: self.gpu_resource.clone(),
            partition: self.partition.clone(),
            time: self.time.clone(),
            account: self.account.clone(),
            cpus_per_task: self.cpus_per_task,
            extra: self.sbatch.clone(),
            signal_before: self.signal_before,
            requeue: !self.no_requeue,
        };
        opts.validate().map_err(|e| match e {
            Error::Config { field, msg } => {
                let flag = match field.as_str() {
                    "gpus" => "--gpus-per-task",
                    "gpu_resource" => "--gpu-resource",
                    "partition" => "--partition",
                    "time" => "--time",
                    "account" => "--account",
                    "cpus_per_task" => "--cpus-per-task",
                    "extra" => "--sbatch",
                    "signal_before" => "--signal-before",
                    "job_name" => "--job-name",
                    "checkpoint_every" => "--checkpoint-every",
                    other => other,
                };
                Error::config(flag, msg)
            }
            e => e,
        })?;
        Ok(opts)
    }
}
