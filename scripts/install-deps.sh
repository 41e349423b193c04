#!/bin/sh
# Installs the Debian 12 packages opsledger builds and tests with.
# Runs apt-get (through sudo when not root). Idempotent.
set -e
PKGS="build-essential pkg-config librdkafka-dev libavro-dev liblmdb-dev libcmocka-dev libjansson-dev libssl-dev kcat lmdb-utils clang libclang-rt-14-dev python3 valgrind chromium libmicrohttpd-dev libcurl4-openssl-dev zlib1g-dev prometheus wrk"
# Node.js and npm run the test-only clients (kafkajs, playwright-core, the
# Schema Registry client). A machine that already has both keeps them:
# NodeSource's nodejs bundles npm and conflicts with Debian's npm package,
# so asking apt for "npm" there fails the whole install.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	:
else
	PKGS="$PKGS nodejs npm"
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "opsledger: installing Debian packages: $PKGS" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PKGS >/dev/null
