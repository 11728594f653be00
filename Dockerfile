# The tsnet managed plugin's rootfs (see docs/plugin.md; built by `npm run plugin:build`).
#
# One Dockerfile for every machine:
#  - normally from the official images (the defaults below);
#  - offline (no container registry) from the local image that scripts/make-base-image.sh makes,
#    passed as --build-arg NODE_IMAGE=tsnet-base:bookworm --build-arg BASE_IMAGE=tsnet-base:bookworm.
# NODE_IMAGE needs node + npm (and installs binutils for `strip` when missing);
# BASE_IMAGE is a Debian bookworm that has, or can apt-get, libnftables1.
# The final stage is `scratch` with only the files the driver runs on (node, its libraries,
# libnftables and its libraries, the built driver and its production node_modules).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG BASE_IMAGE=debian:bookworm-slim

# ---- build: npm ci, compile shared + driver, then a production-only node_modules ----------
FROM ${NODE_IMAGE} AS build
# Extra CA certificates (PEM text) for npm behind a TLS-intercepting proxy; scripts/plugin.sh
# passes the host's /usr/local/share/ca-certificates/*.crt (or TSNET_BUILD_CA_FILE). They only
# reach the build stage, never the plugin rootfs.
ARG BUILD_CA_CERTS=""
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
RUN if [ -n "$BUILD_CA_CERTS" ]; then printf '%s\n' "$BUILD_CA_CERTS" > /usr/local/share/tsnet-build-ca.pem; \
    else : > /usr/local/share/tsnet-build-ca.pem; fi
WORKDIR /src
# Manifests first so the npm ci layer is cached while only sources change.
COPY package.json package-lock.json tsconfig.base.json ./
COPY shared/package.json shared/
COPY driver/package.json driver/
COPY extension/package.json extension/
RUN if [ -s /usr/local/share/tsnet-build-ca.pem ]; then export NODE_EXTRA_CA_CERTS=/usr/local/share/tsnet-build-ca.pem; fi; \
    npm ci --workspace shared --workspace driver --include-workspace-root
COPY shared/ shared/
COPY driver/ driver/
RUN npx tsc -b driver

# Production dependencies only, in the layout the runtime uses (/opt/tsnet).
RUN set -eux; \
    app=/out/opt/tsnet; \
    mkdir -p "$app/shared" "$app/driver"; \
    cp package.json package-lock.json "$app/"; \
    cp shared/package.json "$app/shared/"; \
    cp driver/package.json "$app/driver/"; \
    cd "$app"; \
    # Only the driver's workspaces: npm ci --workspace still installs every workspace's
    # dependencies (the extension's dockerode, ssh2, grpc ...), dropping the extension does not.
    node -e "const f='package.json',p=require('./'+f);p.workspaces=['shared','driver'];delete p.devDependencies;delete p.scripts;require('fs').writeFileSync(f,JSON.stringify(p,null,2))"; \
    if [ -s /usr/local/share/tsnet-build-ca.pem ]; then export NODE_EXTRA_CA_CERTS=/usr/local/share/tsnet-build-ca.pem; fi; \
    npm ci --omit=dev; \
    rm -rf package-lock.json node_modules/.package-lock.json; \
    cp -r /src/shared/dist shared/dist; \
    cp -r /src/driver/dist driver/dist; \
    find . \( -name '*.d.ts' -o -name '*.d.ts.map' -o -name '*.js.map' -o -name '*.tsbuildinfo' \
              -o -name '*.md' -o -name '*.markdown' -o -name 'CHANGELOG*' \) -type f -delete; \
    # koffi: drop the musl prebuild (the rootfs is glibc); koffi/src holds its JS loader, keep it.
    for d in node_modules/@koromix/koffi-linux-*/musl_*; do [ -e "$d" ] && rm -rf "$d"; done; \
    # The Node runtime: only the node binary, stripped of its debug symbols (saves ~13 MB;
    # .dynsym stays, so native addons such as koffi still link against it).
    command -v strip >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends binutils; }; \
    mkdir -p /out/usr/local/bin; \
    cp "$(command -v node)" /out/usr/local/bin/node; \
    strip --strip-all /out/usr/local/bin/node; \
    /out/usr/local/bin/node -e "require('/out/opt/tsnet/node_modules/koffi')"

# ---- rootfs: libnftables1 + collect the exact shared libraries into /rootfs ----------------
FROM ${BASE_IMAGE} AS rootfs
RUN if ! dpkg-query -W -f='${Status}' libnftables1 2>/dev/null | grep -q 'ok installed'; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libnftables1 \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /out/ /stage/
COPY plugin-config/preload.cjs /stage/opt/tsnet/plugin-preload.cjs
COPY plugin-config/tsnet-host.sh /stage/opt/tsnet/bin/tsnet
COPY plugin-config/collect-rootfs.sh /usr/local/sbin/collect-rootfs.sh
RUN sh /usr/local/sbin/collect-rootfs.sh /stage /rootfs

# ---- the plugin rootfs ----------------------------------------------------------------------
FROM scratch
COPY --from=rootfs /rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_ENV=production \
    TSNET_SOCKET=/run/docker/plugins/tsnet.sock TSNET_STATE_DIR=/var/lib/tsnet \
    TSNET_STATUS_SOCKET=/run/tsnet/status.sock TSNET_LOG_LEVEL=info
WORKDIR /opt/tsnet
ENTRYPOINT ["/usr/local/bin/node", "-r", "/opt/tsnet/plugin-preload.cjs", "/opt/tsnet/driver/dist/main.js"]
