# One image for the lab's producer, consumer and kopf operator; each container picks its command:
#   bplab-producer | bplab-consumer | bplab-operator (kopf, see docs/operator.md)
# Runs as UID/GID 10001 (numeric, so runAsNonRoot can verify it) with a read-only root filesystem: nothing is written
# outside /tmp at run time (bytecode is compiled here, at build time).
#
# Base: Debian 12's own python3 (3.11) on a dated, pinned Debian slim image. On a laptop `docker build` pulls it from
# Docker Hub; on machines without a registry tools/docker/base-image.sh synthesizes the same name:tag with debootstrap.
# No `# syntax=` line on purpose: it would pull a frontend image; the daemon's built-in BuildKit frontend is enough.
#
# Build (BuildKit, for the optional secret):
#   DOCKER_BUILDKIT=1 docker build -t backpressure-lab:dev .
# Behind a TLS-intercepting proxy, hand the proxy's CA bundle to pip as a build secret (never stored in a layer):
#   DOCKER_BUILDKIT=1 docker build --secret id=pip_ca,src=/etc/ssl/certs/ca-certificates.crt -t backpressure-lab:dev .
ARG BASE_IMAGE=debian:bookworm-20260918-slim

FROM ${BASE_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DEFAULT_TIMEOUT=120 \
    PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv binutils \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv
WORKDIR /src
# Dependencies first, from pyproject.toml's pinned list (and constraints.txt, if the project has one), so that this
# layer is rebuilt only when they change. `constraints.tx[t]` copies the file when it exists and nothing otherwise.
COPY pyproject.toml README.md constraints.tx[t] ./
RUN --mount=type=secret,id=pip_ca \
    set -eu; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    constraints=""; if [ -f constraints.txt ]; then constraints="-c constraints.txt"; fi; \
    /opt/venv/bin/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' >/tmp/requirements.txt; \
    /opt/venv/bin/pip install --no-compile $constraints -r /tmp/requirements.txt
COPY src/ src/
RUN --mount=type=secret,id=pip_ca \
    set -eu; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    constraints=""; if [ -f constraints.txt ]; then constraints="-c constraints.txt"; fi; \
    /opt/venv/bin/pip install --no-compile --no-deps $constraints . \
    && /opt/venv/bin/pip uninstall -y setuptools pip \
    && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} + \
    && find /opt/venv -name '*.so' -exec strip --strip-unneeded {} + \
    && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib \
    && /opt/venv/bin/python -c 'import backpressure_lab'

FROM ${BASE_IMAGE}
ARG BASE_IMAGE
LABEL org.opencontainers.image.title="backpressure-lab" \
      org.opencontainers.image.description="Producer, consumer and kopf operator of the backpressure lab" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/lib/dpkg/*-old /var/log/* \
    && groupadd --gid 10001 bplab \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin bplab
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    BPLAB_HOST=0.0.0.0
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000 8001
CMD ["bplab-producer"]
