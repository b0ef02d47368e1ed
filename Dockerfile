# syntax=docker/dockerfile:1
# Production image: `docker build -t ignite-upload-bridge .`
# Run with IGNITE_GRPC_TARGET (and IGNITE_GRPC_TLS=true) pointing at the BuildService; without a
# target the embedded reference upstream is used, which on HOST=0.0.0.0 needs IGNITE_REFERENCE_TOKEN.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY proto ./proto
COPY src ./src
COPY page ./page
COPY scripts ./scripts
# tsc, then the upload page's script bundled from page/ into dist/page/ (esbuild).
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    IGNITE_DATA_DIR=/app/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY proto ./proto
COPY openapi.yaml ./
COPY public ./public
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/page ./dist/page
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
# Slim images have no curl: node's fetch probes the liveness endpoint (over TLS when the bridge terminates it; its own certificate is not for 127.0.0.1).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const tls = Boolean(process.env.TLS_CERT_FILE); if (tls) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; fetch((tls ? 'https' : 'http') + '://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
