# syntax=docker/dockerfile:1
# The production image: the built program (`node dist/main.js`, no TypeScript loader) on Node 20,
# its production dependencies only, run as an unprivileged user.
#   docker build -t action-center .
# docker-compose.yml builds and runs it; test/integration/process.test.ts runs these steps.

# Build: every dependency, then the typecheck and compile of src/ to dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# postinstall patches the Postgres driver (scripts/patchPostgres.mjs, docs/RELIABILITY.md).
COPY scripts/patchPostgres.mjs scripts/
# npm's cache is a build cache mount: faster rebuilds, and never part of a layer.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts scripts/
COPY src src
RUN npm run build

# Runtime: production dependencies, installed here once (never at container start), the build
# and the migrations it applies at start.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/patchPostgres.mjs scripts/
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist dist
COPY drizzle drizzle
USER node
EXPOSE 3000
# Ready: Postgres and Redis answer. Every role serves /readyz on its PORT.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
