# One image for every service, the CLI and the emulators; compose and Kubernetes pick the command.
FROM python:3.11-slim AS build
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
COPY cli cli
COPY emulators emulators
RUN uv sync --frozen --no-dev --python /usr/local/bin/python3

FROM python:3.11-slim
RUN useradd --system --uid 10001 mlc
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1
USER mlc
WORKDIR /app
