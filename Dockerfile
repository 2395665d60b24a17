# The gateway image: build with dev dependencies, run with production ones only.
# `docker compose up` runs it beside PostgreSQL and Redis (see docker-compose.yml and .env.example).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) runs below, once the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm run build:web

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY catalog ./catalog
# DATA_DIR: PGlite (when DATABASE_URL is unset), the sandbox emulator's state and the development signing
# secret; writable by the unprivileged user, and a volume in docker-compose.yml so it survives a restart.
# `billing-gateway` on PATH: `docker compose exec gateway billing-gateway metrics mrr`.
RUN mkdir -p /data && chown node:node /data && ln -s /app/bin/billing-gateway.js /usr/local/bin/billing-gateway
ENV DATA_DIR=/data
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# The bin re-executes `serve` with the gateway's V8 heap flags (bin/heap-flags.js; NODE_OPTIONS overrides them).
CMD ["node", "bin/billing-gateway.js", "serve"]
