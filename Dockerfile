# syntax=docker/dockerfile:1
# CaseBridge: FHIR R4 server. Multi-stage: build the embedded FerretDB (Go), build the service
# (Node), then a small non-root runtime. Production sets MONGODB_URI (see docker-compose.yml);
# without it the image runs the embedded FerretDB on /data.

FROM golang:1.24-bookworm AS ferretdb
# The build applies CaseBridge's patch to FerretDB's source (tools/ferretdb/patches).
RUN apt-get update && apt-get install -y --no-install-recommends patch diffutils && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY tools/ferretdb/ tools/ferretdb/
COPY scripts/install-ferretdb.sh scripts/
RUN CGO_ENABLED=0 bash scripts/install-ferretdb.sh && mkdir -p /out && cp .cache/bin/ferretdb /out/ferretdb

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the prepare step would build FerretDB with Go, done in its own stage above.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/ scripts/
COPY src/ src/
RUN npm run gen:validator && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080 DATA_DIR=/data FERRETDB_BINARY=/app/bin/ferretdb
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
COPY --from=build /app/generated/ generated/
COPY profiles/ profiles/
COPY fixtures/ fixtures/
COPY --from=ferretdb /out/ferretdb bin/ferretdb
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
