# syntax=docker/dockerfile:1
# Tollgate: build with the dev dependencies, run with the production ones only.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim
# git for the agents' workspaces; bubblewrap is the sandbox for the repositories' commands (their
# tests and builds, what the agents run). Tollgate fails closed: when bubblewrap cannot create its
# namespaces here, the start-up log says why ("sandbox: commands are disabled: ...") and no
# repository command runs at all: the agents get no command tool and verify does not run.
# Docker's defaults stop bubblewrap, so run this image with (compose.yaml sets them all):
#   --security-opt seccomp=deploy/seccomp-bwrap.json  Docker's default profile + user namespaces,
#                                                     mount, umount2, pivot_root
#   --security-opt systempaths=unconfined             no masked /proc, so bwrap may mount its own
#   --security-opt apparmor=tollgate-bwrap            AppArmor hosts (Ubuntu, Debian): docker-default
#                                                     + mount, loaded on the host beforehand
#   --cap-drop ALL --security-opt no-new-privileges   nothing more is needed
# Never --privileged or --cap-add SYS_ADMIN. How to make the profiles and check the mode in force:
# docs/container.md.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git bubblewrap ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    TOLLGATE_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json app.yml ./
COPY migrations ./migrations
COPY prompts ./prompts
COPY dashboard ./dashboard
COPY schema ./schema
# The embedded database lives in /data; mount a volume there, or set DATABASE_URL.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# npm passes SIGTERM on to Tollgate, which stops taking jobs and finishes the one in hand.
CMD ["npm", "start"]
