# The code location's image, for the gcp target on Kubernetes (docs/deployment.md): it serves
# the definitions over gRPC to the webserver and the daemon, and runs each launched run.
#
#   docker build -t coffee-assets:$(git rev-parse --short HEAD) .
#
# The build steps are scripts/build-image.sh (CI runs that script in a fresh clone). No secret
# goes into the image: credentials come from the workload's identity, settings from the
# environment (COFFEE_*, the Helm values).
FROM python:3.11-slim-bookworm

# A user without privileges owns the code and runs it.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin coffee \
    && mkdir /opt/coffee && chown coffee:coffee /opt/coffee
USER coffee
WORKDIR /opt/coffee

COPY --chown=coffee:coffee . .
# No package cache left in a layer.
# Bytecode compiled once, at build: each run's pod starts without compiling its imports.
ENV UV_NO_CACHE=1 UV_LINK_MODE=copy PIP_NO_CACHE_DIR=1 UV_COMPILE_BYTECODE=1
RUN bash scripts/build-image.sh

ENV PATH=/opt/coffee/.venv/bin:$PATH \
    VIRTUAL_ENV=/opt/coffee/.venv \
    COFFEE_TARGET=gcp \
    DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=1 \
    DAGSTER_EVENT_BATCH_SIZE=1000 \
    PYTHONUNBUFFERED=1

EXPOSE 3030
# No ENTRYPOINT: Dagster's Helm chart and its run launcher pass whole commands (dagster api grpc
# ..., dagster api execute_run ...) as the container's arguments.
CMD ["dagster", "api", "grpc", "-m", "coffee_assets.definitions", "-h", "0.0.0.0", "-p", "3030"]
