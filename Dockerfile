# syntax=docker/dockerfile:1
#
# One build, two images:
#   docker build --target gateway -t media-foundry-gateway .
#   docker build --target worker  -t media-foundry-worker  .
# Final images hold package.json files, production node_modules and compiled
# dist/ only: no sources, no dev dependencies, no compiler.

# The runtime of every stage, in one place. Node 20 on Debian 12 because the
# gateway's uWebSockets.js build has no binary for a later Node, and the build
# that has one needs glibc 2.38 (Debian 13): docs/DEPLOYMENT.md, "Runtime",
# has the move to node:24-trixie-slim step by step.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- manifests: the only inputs of `npm ci`, so dependency layers stay cached
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY client/package.json client/
COPY gateway/package.json gateway/
COPY worker/package.json worker/
# the unit tests' fixtures: a workspace npm ci installs, never in a final image
COPY test-support/package.json test-support/

# ---- build: all dependencies, then tsc
FROM manifests AS build
# a C compiler for the worker's one native helper (worker/native/wait-for-argv.c, FFMPEG_PRESTART): only
# the compiled library reaches the worker image
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY shared/ shared/
COPY gateway/ gateway/
COPY worker/ worker/
# the services' unit tests import it: tsc -b builds it with them (a project reference)
COPY test-support/ test-support/
# the client's sources: the build bundles the demo page from them into gateway/dist/demo-page
COPY client/ client/
# `npm run build` is `tsc -b` over the root tsconfig, which also references
# test/ and tools/ (not in the build context); name the service projects instead (its
# postbuild bundles the page). Compiled unit tests are dropped so they do not ship.
RUN npm run build -- shared gateway worker \
 && find shared/dist gateway/dist worker/dist \( -name '*.test.*' -o -name 'test-fixtures.*' \) -delete

# ---- prod-deps: runtime dependencies only
FROM manifests AS prod-deps
# npm nests a workspace's node_modules only when versions clash (worker has
# one today); create them all so the COPYs below never depend on that.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund \
 && mkdir -p shared/node_modules gateway/node_modules worker/node_modules

# ---- gateway
FROM ${NODE_IMAGE} AS gateway
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY shared/package.json shared/
COPY gateway/package.json gateway/
COPY --from=prod-deps /app/node_modules node_modules/
COPY --from=prod-deps /app/shared/node_modules shared/node_modules/
COPY --from=prod-deps /app/gateway/node_modules gateway/node_modules/
COPY --from=build /app/shared/dist shared/dist/
COPY --from=build /app/gateway/dist gateway/dist/
USER node
# WS_PORT, HEALTH_PORT (the config defaults)
EXPOSE 8080 8081
# Liveness only: /health answers from in-process state, never waiting on
# RabbitMQ or storage (a broker alarm must not mark the container unhealthy).
# Slim images have no curl; Node has fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||8081)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "gateway/dist/main.js"]

# ---- worker
FROM ${NODE_IMAGE} AS worker
# tini as PID 1: it forwards SIGTERM to the worker and reaps what would be left as a zombie (an ffmpeg
# killed after its launcher process died, worker/src/launcher/launcher.ts); Node as PID 1 reaps only its own
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY shared/package.json shared/
COPY worker/package.json worker/
COPY --from=prod-deps /app/node_modules node_modules/
COPY --from=prod-deps /app/shared/node_modules shared/node_modules/
COPY --from=prod-deps /app/worker/node_modules worker/node_modules/
COPY --from=build /app/shared/dist shared/dist/
COPY --from=build /app/worker/dist worker/dist/
USER node
# HEALTH_PORT (the config default); the worker takes no inbound traffic otherwise.
EXPOSE 8081
# Liveness only, as for the gateway.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||8081)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "worker/dist/main.js"]
