# One image for every service, the CLI and the emulators; compose and Kubernetes pick the command.
# The runtime stage holds only the virtual environment (workspace packages installed as wheels,
# not editable), runs as a numeric non-root user (Kubernetes' runAsNonRoot can verify it), and
# works with a read-only root filesystem.
FROM python:3.11-slim AS build
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
COPY cli cli
COPY emulators emulators
RUN uv sync --frozen --no-dev --no-editable --python /usr/local/bin/python3

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --no-create-home mlc
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
# Health and readiness probes when MLC_HEALTH_PORT=8080 is set (deploy/k8s, docker-compose.yml).
EXPOSE 8080
USER 10001
