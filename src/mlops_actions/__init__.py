"""mlops-actions: GitHub Actions and a CLI that keep PyTorch CI honest."""

__version__ = "1.0.0"
