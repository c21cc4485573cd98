# Build: compile TypeScript (better-sqlite3 and bcrypt need a toolchain when no prebuilt binary fits).
# Node 24 LTS (the code also runs on Node 20, which CI machines have).
FROM node:24-bookworm AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json openapi.yaml redocly.yaml ./
COPY openapi ./openapi
COPY redocly ./redocly
COPY generated ./generated
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Run: compiled JavaScript only, as an unprivileged user.
FROM node:24-bookworm-slim
WORKDIR /app
# NODE_ENV=production: JWT_SECRET, DATA_KEY and INTERNAL_API_KEY must be given (docker run --env-file),
# the same for every container; the server refuses to start without them.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATABASE_URL=sqlite:data/getpaidx.sqlite3
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/docs/build ./docs/build
COPY --from=build /app/src/web/assets ./src/web/assets
COPY openapi.yaml ./
COPY generated/openapi.yaml ./generated/
RUN mkdir -p data && chown node:node data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Migrations first (a no-op when the schema is current), then the server; SIGTERM drains in-flight requests.
CMD ["sh", "-c", "node dist/src/cli/migrate.js && exec node dist/src/server.js"]
