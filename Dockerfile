# Rescind revocation writer.
#
#   docker build -t rescind/revocation-writer .
#
# Two stages: `build` compiles the app with the full (dev) dependency tree; `runtime` holds only
# the production dependencies and the webpack output. Webpack bundles the app and the libs/
# packages but leaves node_modules external, so the runtime stage needs its own `npm ci`.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# Only what `nest build revocation-writer` reads (see tsconfig.build.json / tsconfig.app.json).
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app

# Production dependencies only (package.json has no install scripts to worry about). Installed
# as root and left root-owned: the app never writes to its own directory.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Only main.js is bundled; migrations are compiled into it and run at start-up.
COPY --from=build /app/dist ./dist

USER node
EXPOSE 3000

# Exec form: node is PID 1 and receives SIGTERM itself (the app enables Nest shutdown hooks).
CMD ["node", "dist/apps/revocation-writer/main.js"]
