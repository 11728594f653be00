# The tsnet managed plugin's rootfs (see docs/plugin.md; built by `npm run plugin:build`).
#
# One Dockerfile for every machine:
#  - normally from the official images (the defaults below);
#  - offline (no container registry) from the local image that scripts/make-base-image.sh makes,
#    passed as --build-arg NODE_IMAGE=tsnet-base:bookworm-node24 --build-arg BASE_IMAGE=tsnet-base:bookworm-node24.
# NODE_IMAGE needs node (the Node the plugin ships: 24, the current LTS) + npm (and installs
# binutils for `strip` when missing); BASE_IMAGE is a Debian bookworm that has, or can apt-get,
# libnftables1.
# The final stage is `scratch` with only the files the driver runs on (node, its libraries,
# libnftables and its libraries, the driver as one esbuild bundle and koffi's native module);
# no node_modules tree, no npm. docs/plugin.md, "Image and rootfs size".
ARG NODE_IMAGE=node:24-bookworm-slim
ARG BASE_IMAGE=debian:bookworm-slim

# ---- build: npm ci, compile shared + driver, bundle them (driver/scripts/bundle-plugin.js) -----
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
COPY plugin-config/preload.cjs plugin-config/
RUN npx tsc -b driver

# /opt/tsnet: one bundle of the driver, its workers, the CLI and the preload with their
# dependencies, plus koffi's native module for this platform (the layout: driver/scripts/bundle-plugin.js).
RUN set -eux; \
    node driver/scripts/bundle-plugin.js /out/opt/tsnet; \
    # The Node runtime: only the node binary, stripped of its debug symbols (saves ~18 MB;
    # .dynsym stays, so native addons such as koffi still link against it).
    command -v strip >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends binutils; }; \
    mkdir -p /out/usr/local/bin; \
    cp "$(command -v node)" /out/usr/local/bin/node; \
    strip --strip-all /out/usr/local/bin/node; \
    # koffi finds and loads its native module from the bundle's layout, with the shipped node.
    /out/usr/local/bin/node -e "const k=require('/out/opt/tsnet/driver/dist/tsnet-bundle.js').koffi(); if (typeof k.load !== 'function') process.exit(1); console.log('node', process.version, 'koffi', k.version)"

# ---- rootfs: libnftables1 + collect the exact shared libraries into /rootfs ----------------
FROM ${BASE_IMAGE} AS rootfs
RUN if ! dpkg-query -W -f='${Status}' libnftables1 2>/dev/null | grep -q 'ok installed'; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libnftables1 \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /out/ /stage/
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
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=1", "--optimize-for-size", "-r", "/opt/tsnet/plugin-preload.cjs", "/opt/tsnet/driver/dist/main.js"]
