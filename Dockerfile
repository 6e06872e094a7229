# syntax=docker/dockerfile:1
# The dagctl image: one image for every role — `dagctl worker`, `scheduler`, `serve`, `ui` and
# `autoscale-metrics` (the entrypoint is dagctl; the container's args pick the role).
#
# Contract (checked statically by test/deploy/dockerfile.test.ts; deploy/helm/dagctl relies on it):
#   - multi-stage: `build` compiles TypeScript with the dev dependencies; `deps` installs the
#     production dependencies only (npm ci --omit=dev); `runtime` holds dist/ + those node_modules;
#   - runs as a numeric non-root user (10001:10001), so Kubernetes' runAsNonRoot can verify it;
#   - works with a read-only root filesystem: the app is owned by root and never written; temp files
#     go to /tmp (TMPDIR, HOME) and local state to DAGCTL_HOME=/var/lib/dagctl — mount writable
#     volumes (emptyDir) on both, as the chart does;
#   - tini is PID 1: it forwards SIGTERM (graceful worker shutdown) and reaps child processes of
#     operators that run programs.
# Build: docker build -t dagctl:0.1.0 .   (or buildah bud / podman build; any OCI builder)
ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY core core
COPY definitions definitions
COPY operators operators
COPY scheduler scheduler
COPY workers workers
COPY storage storage
COPY ingest ingest
COPY cli cli
COPY gen gen
COPY domain domain
COPY sdk sdk
COPY serving serving
COPY ui ui
COPY services services
RUN npx tsc -p tsconfig.json && npx tsc -p ui/web/tsconfig.json && rm -f dist/.tsbuildinfo

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /var/lib/dagctl \
  && chown 10001:10001 /var/lib/dagctl
ENV NODE_ENV=production \
    DAGCTL_HOME=/var/lib/dagctl \
    TMPDIR=/tmp \
    HOME=/tmp
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /src/dist dist
COPY dags dags
# The dagctl command: bin/dagctl sets glibc malloc tunables (and, for run/worker, a small main-thread
# young generation), then execs node dist/cli/bin.js.
COPY bin bin
# The web UI's style sheet is read from the source tree (ui/server/app.ts), next to dist/.
COPY ui/web/style.css ui/web/style.css
RUN chmod 0755 bin/dagctl dist/cli/bin.js && ln -s /app/bin/dagctl /usr/local/bin/dagctl
USER 10001:10001
EXPOSE 9464 9465
ENTRYPOINT ["/usr/bin/tini", "--", "dagctl"]
CMD ["--help"]
