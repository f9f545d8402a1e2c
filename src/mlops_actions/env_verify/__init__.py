"""env-verify: prove, inside the job, which PyTorch/CUDA stack is installed."""
