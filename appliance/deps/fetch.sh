#!/bin/sh
# Fetch and build the two dependencies Debian ships no usable static archive
# of, from Debian's own source packages (so Debian's security backports come
# along): libgit2, built against mbedTLS without GSSAPI, SSH or NTLM, and
# CivetWeb, whose single civetweb.c the main build compiles itself.
#
# usage: fetch.sh DEPS_DIR
# Leaves DEPS_DIR/libgit2/{include,lib/libgit2.a} and DEPS_DIR/civetweb-src.
# Idempotent: a finished step leaves a stamp and is not repeated.
set -eu
deps=$1
mkdir -p "$deps/src"
cd "$deps/src"

# apt-get source needs a deb-src entry; derive it from the machine's own
# Debian sources rather than naming any mirror here.
ensure_deb_src() {
    if grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ ||
       grep -qs '^deb-src' /etc/apt/sources.list; then
        return 0
    fi
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
            > /etc/apt/sources.list.d/edgecd-src.sources
    elif [ -f /etc/apt/sources.list ]; then
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/edgecd-src.list
    else
        echo "fetch.sh: no Debian apt sources found to derive deb-src from" >&2
        exit 1
    fi
    apt-get update -qq
}

# Fetch source package $1 into ./$1-*; try each version apt knows, newest
# first, because a security archive sometimes lists a version it no longer
# serves.
fetch_source() {
    pkg=$1
    if ls -d "$pkg"-*/ >/dev/null 2>&1; then return 0; fi
    ensure_deb_src
    for v in $(apt-cache showsrc "$pkg" | sed -n 's/^Version: //p'); do
        if apt-get source -qq "$pkg=$v" >/dev/null 2>&1; then return 0; fi
        rm -rf "$pkg"-*/ "$pkg"_*
    done
    echo "fetch.sh: apt-get source $pkg failed for every listed version" >&2
    exit 1
}

if [ ! -f "$deps/civetweb.stamp" ]; then
    fetch_source civetweb
    rm -rf "$deps/civetweb-src"
    cp -r "$(ls -d civetweb-*/ | head -n 1)" "$deps/civetweb-src"
    touch "$deps/civetweb.stamp"
fi

# The stamp's number goes up whenever the build of libgit2 changes, so an
# existing build directory rebuilds it.
if [ ! -f "$deps/libgit2-2.stamp" ]; then
    fetch_source libgit2
    src=$(cd "$(ls -d libgit2-*/ | head -n 1)" && pwd)
    # libgit2 1.5.1's indexer, verifying a pack, leaks each parsed object
    # the repository already has (an early return past the free; fixed
    # upstream in 1.6): importing a bundle that repeats history would leak.
    sed -i '/if (idx->odb && git_odb_exists(idx->odb, &object->cached.oid))/{n;s/return 0;/goto out;/}' \
        "$src/src/libgit2/indexer.c"
    grep -A1 'if (idx->odb && git_odb_exists(idx->odb, &object->cached.oid))' \
        "$src/src/libgit2/indexer.c" | grep -q 'goto out;' ||
        { echo "fetch.sh: could not apply the indexer leak fix to libgit2" >&2; exit 1; }
    rm -rf "$deps/libgit2-build" "$deps/libgit2"
    mkdir -p "$deps/libgit2-build"
    cd "$deps/libgit2-build"
    # GSSAPI/Negotiate, NTLM and SSH are switched off at configure time, so
    # no Kerberos or libssh2 (and through it OpenSSL) is linked; iconv is
    # only needed on macOS.
    cmake "$src" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
        -DBUILD_TESTS=OFF -DBUILD_CLI=OFF -DBUILD_EXAMPLES=OFF \
        -DUSE_HTTPS=mbedTLS -DUSE_SHA1=CollisionDetection -DUSE_SHA256=mbedTLS \
        -DUSE_SSH=OFF -DUSE_GSSAPI=OFF -DUSE_NTLMCLIENT=OFF \
        -DUSE_HTTP_PARSER=system -DREGEX_BACKEND=regcomp \
        -DUSE_BUNDLED_ZLIB=OFF -DUSE_ICONV=OFF \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
        -DCMAKE_INSTALL_PREFIX="$deps/libgit2" >configure.log 2>&1 ||
        { cat configure.log >&2; exit 1; }
    cmake --build . -j2 >build.log 2>&1 || { tail -n 50 build.log >&2; exit 1; }
    cmake --install . >/dev/null
    touch "$deps/libgit2-2.stamp"
fi
