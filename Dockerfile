# One image for every service, the CLI and the emulators; compose and Kubernetes pick the command.
# The runtime stage holds only the virtual environment (workspace packages installed as wheels,
# not editable, and no dependency group: no test, lint or benchmark tools), runs as a numeric
# non-root user (Kubernetes' runAsNonRoot can verify it), and works with a read-only root
# filesystem. Third-party dependencies install in their own layer, from the lock and the
# workspace members' pyproject.toml only, so a code change rebuilds only the last layers.
FROM python:3.11-slim AS build
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs/mlc-core/pyproject.toml libs/mlc-core/
COPY libs/mlc-ops/pyproject.toml libs/mlc-ops/
COPY services/audit/pyproject.toml services/audit/
COPY services/console/pyproject.toml services/console/
COPY services/mapper/pyproject.toml services/mapper/
COPY services/sage-agent/pyproject.toml services/sage-agent/
COPY services/sage-poller/pyproject.toml services/sage-poller/
COPY services/zoho-writer/pyproject.toml services/zoho-writer/
COPY emulators/sage100/pyproject.toml emulators/sage100/
COPY emulators/zoho/pyproject.toml emulators/zoho/
COPY cli/pyproject.toml cli/
RUN uv sync --frozen --no-default-groups --no-install-workspace --python /usr/local/bin/python3
COPY libs libs
COPY services services
COPY emulators emulators
COPY cli cli
RUN uv sync --frozen --no-default-groups --no-editable --python /usr/local/bin/python3

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --no-create-home mlc
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
# Health and readiness probes when MLC_HEALTH_PORT=8080 is set (deploy/k8s, docker-compose.yml).
EXPOSE 8080
USER 10001
# Every deployment names its command (mlc-sage-poller, mlc-audit, mlc db migrate…); alone, the
# image lists the CLI's commands.
CMD ["mlc", "--help"]
