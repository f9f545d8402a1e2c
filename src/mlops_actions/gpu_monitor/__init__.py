"""gpu-monitor: run a command, sample every GPU while it runs, report how the GPUs were used."""
