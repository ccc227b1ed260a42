# One image for the API, the worker and the migrator (the command picks the role).
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# patch-package applies these on install (a postgres driver fix; see docs/operations.md).
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY api ./api
COPY activities ./activities
COPY db ./db
COPY lib ./lib
COPY infra ./infra
COPY services ./services
COPY workers ./workers
COPY workflows ./workflows
COPY scripts ./scripts
USER node
EXPOSE 8080
CMD ["node", "--import", "tsx", "api/server.ts"]
