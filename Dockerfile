# syntax=docker/dockerfile:1
# portal-sync: one image for every role (worker, api, migrate, simulators); the command chooses,
# e.g. `npx tsx src/cli/main.ts worker` (see docker-compose.yml). It runs the TypeScript with tsx,
# as `npm start` does; the worker bundles the workflows when it starts.
ARG NODE_VERSION=20
FROM node:${NODE_VERSION}-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app

# Dependencies first, so that a code change reuses this layer. Without devDependencies (tsx is a
# dependency) and without install scripts: the native parts (Temporal's core bridge, swc, esbuild)
# come as prebuilt packages, and nothing here needs a script to run.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit \
    && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src
COPY activities ./activities
COPY workflows ./workflows
COPY migrations ./migrations

# The image's unprivileged user; nothing is written but tsx's cache under /tmp.
USER node

# The API (API_PORT) and the worker's Temporal SDK metrics (WORKER_METRICS_PORT), as compose sets them.
EXPOSE 3000 9464
CMD ["npx", "tsx", "src/cli/main.ts", "api"]
