# syntax=docker/dockerfile:1
# Multi-stage build with the same commands as scripts/build.sh: cargo for the
# server and the WASM front end, wasm-bindgen matching Cargo.lock, and npm's
# binaryen for wasm-opt (Debian's breaks hydration). Nothing is downloaded
# from outside the package registries.

FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/build.sh release

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/hotswap --create-home hotswap
COPY --from=build /src/target/release/hotswap /src/target/release/hotswap-agent /usr/local/bin/
COPY --from=build /src/target/site /usr/share/hotswap/site
ENV HOTSWAP_ADDR=0.0.0.0:3000 \
    HOTSWAP_DATA_DIR=/var/lib/hotswap \
    HOTSWAP_SITE_ROOT=/usr/share/hotswap/site \
    HOTSWAP_LOG_FORMAT=json
USER hotswap
WORKDIR /var/lib/hotswap
VOLUME /var/lib/hotswap
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:3000/health || exit 1
ENTRYPOINT ["hotswap"]
CMD ["serve"]
