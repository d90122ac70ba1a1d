# seqserve with ONNX Runtime's CUDA execution provider.
#   docker build -t seqserve .
#   docker run --gpus all -p 8000:8000 -p 8001:8001 seqserve
# Without a GPU (or without --gpus) the server logs that CUDA is unavailable once and runs on CPU.

FROM node:20-bookworm-slim AS node

# Build stage: the dev dependencies compile the server to build/ and bundle the web demo to dist/web/.
FROM node AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY server ./server
COPY clients ./clients
COPY web ./web
RUN node scripts/build.mjs

FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/seqserve
COPY package.json package-lock.json .npmrc ./
# The project's .npmrc skips onnxruntime-node's download of the CUDA provider (development machines
# cannot reach its feed). Here we want it: run onnxruntime-node's installer for CUDA 12 explicitly.
RUN npm ci --omit=dev --no-audit --no-fund \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install \
 && ls node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so

# compiled JavaScript only: no TypeScript toolchain in the image (bin/seqserve.js runs build/ without tsx)
COPY bin ./bin
COPY proto ./proto
COPY models ./models
COPY web/index.html ./web/index.html
COPY --from=build /src/build ./build
COPY --from=build /src/dist ./dist

ENV NODE_ENV=production
EXPOSE 8000 8001
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD node -e "fetch('http://127.0.0.1:8000/v2/health/ready').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
RUN useradd --system --uid 10001 --no-create-home seqserve
USER seqserve
ENTRYPOINT ["node", "bin/seqserve.js"]
CMD ["serve", "--models", "/opt/seqserve/models", "--providers", "cuda,cpu"]
