# The root Docker action: every mlops-actions command, hermetic.
# The base is a build argument so a registry mirror or an internal image can be used:
#   docker build --build-arg BASE_IMAGE=registry.example/python:3.12-slim .
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="mlops-actions" \
      org.opencontainers.image.description="GitHub Actions that keep PyTorch CI honest" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY pyproject.toml README.md /opt/mlops-actions/
COPY src /opt/mlops-actions/src
RUN python3 -m venv /opt/mlops-actions/venv \
 && /opt/mlops-actions/venv/bin/python -m pip install --no-cache-dir --disable-pip-version-check \
      --no-input /opt/mlops-actions \
 && /opt/mlops-actions/venv/bin/python -m mlops_actions --version

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# -I: the workspace (the working directory) is never on sys.path and PYTHON* variables are
# ignored, so nothing from the checkout is imported; -B and -u say what those variables said.
ENTRYPOINT ["/opt/mlops-actions/venv/bin/python", "-I", "-B", "-u", "-m", "mlops_actions"]
