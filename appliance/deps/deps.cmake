# Imported targets for the eight libraries edgecd links statically:
#   dep_mbedtls dep_yaml dep_jansson dep_sqlite dep_z dep_lua dep_git2 dep_civetweb
# The first six come from Debian's -dev packages (static archives); libgit2
# and CivetWeb come from Debian source packages through fetch.sh.

function(edgecd_find_static var name)
  find_library(${var} NAMES lib${name}.a REQUIRED)
endfunction()

edgecd_find_static(LIB_MBEDTLS mbedtls)
edgecd_find_static(LIB_MBEDX509 mbedx509)
edgecd_find_static(LIB_MBEDCRYPTO mbedcrypto)
edgecd_find_static(LIB_YAML yaml)
edgecd_find_static(LIB_JANSSON jansson)
edgecd_find_static(LIB_SQLITE sqlite3)
edgecd_find_static(LIB_LUA lua5.4)
edgecd_find_static(LIB_HTTP_PARSER http_parser)
edgecd_find_static(LIB_Z z)
find_path(LUA_INCLUDE_DIR lua.h PATH_SUFFIXES lua5.4 REQUIRED)
find_package(Threads REQUIRED)

add_library(dep_mbedtls INTERFACE)
target_link_libraries(dep_mbedtls INTERFACE ${LIB_MBEDTLS} ${LIB_MBEDX509} ${LIB_MBEDCRYPTO})
add_library(dep_yaml INTERFACE)
target_link_libraries(dep_yaml INTERFACE ${LIB_YAML})
add_library(dep_jansson INTERFACE)
target_link_libraries(dep_jansson INTERFACE ${LIB_JANSSON})
add_library(dep_sqlite INTERFACE)
target_link_libraries(dep_sqlite INTERFACE ${LIB_SQLITE} Threads::Threads ${CMAKE_DL_LIBS} m)
add_library(dep_z INTERFACE)
target_link_libraries(dep_z INTERFACE ${LIB_Z})
add_library(dep_lua INTERFACE)
target_include_directories(dep_lua INTERFACE ${LUA_INCLUDE_DIR})
target_link_libraries(dep_lua INTERFACE ${LIB_LUA} ${CMAKE_DL_LIBS} m)

if(NOT EXISTS "${EDGECD_DEPS_DIR}/libgit2-2.stamp" OR NOT EXISTS "${EDGECD_DEPS_DIR}/civetweb.stamp")
  message(STATUS "Fetching Debian sources of libgit2 and CivetWeb into ${EDGECD_DEPS_DIR}")
  execute_process(COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/fetch.sh ${EDGECD_DEPS_DIR}
                  RESULT_VARIABLE fetch_rc)
  if(NOT fetch_rc EQUAL 0)
    message(FATAL_ERROR "appliance/deps/fetch.sh failed (${fetch_rc})")
  endif()
endif()

# An imported archive, so CMake knows libgit2.a needs http-parser, zlib and
# mbedTLS after it on the link line whatever order modules list it in.
add_library(dep_git2 STATIC IMPORTED GLOBAL)
set_target_properties(dep_git2 PROPERTIES
  IMPORTED_LOCATION ${EDGECD_DEPS_DIR}/libgit2/lib/libgit2.a
  INTERFACE_INCLUDE_DIRECTORIES ${EDGECD_DEPS_DIR}/libgit2/include
  INTERFACE_LINK_LIBRARIES "${LIB_HTTP_PARSER};dep_z;dep_mbedtls;Threads::Threads")

# CivetWeb: compiled here from Debian's civetweb.c. USE_MBEDTLS makes it use
# the one TLS stack; NO_FILES and NO_CGI mean it never serves the file system
# or runs programs: every answer comes from an edgecd handler.
#
# Two changes to CivetWeb's TLS code, made on a copy of its sources in the
# build tree (Debian's stay untouched): its mbedTLS glue (mod_mbedtls.inl)
# takes mbedTLS's default configuration, which still accepts TLS 1.0 and
# 1.1 and CBC suites, and offers no hook to change it, so the copy pins TLS
# 1.2 as the minimum and only forward-secret AEAD suites (ECDHE with
# AES-GCM or ChaCha20-Poly1305, for ECDSA and RSA certificates); and its
# read loop prints "SSL read failed" on stderr whenever a client closes a
# connection, which would fill the log, so that goes to its debug trace.
# Its handshake also reads with a plain blocking recv, so a client that
# connects and sends nothing would hold a worker thread for ever (a few
# such connections and the server answers nobody): the copy reads through
# mbedtls_net_recv_timeout with a 10 s limit, the same as
# request_timeout_ms for a request.
# CivetWeb has no limit on the connections one client address holds: a
# single host of the LAN could take every worker thread. The copy asks two
# optional (weak) hooks, edgecd_civetweb_accept when it accepts a socket
# (0: close it at once, before it takes a place in the queue) and
# edgecd_civetweb_closed when it closes one; server/server.c counts
# connections per address with them. A program that does not define them
# (kubesim) runs CivetWeb as it was.
# Its body reads (pull_all) look at the clock only when a wait for data
# times out, so a client sending a byte every few seconds keeps one
# mg_read going for as long as it likes: the copy also stops the read once
# request_timeout_ms has passed since it began, whatever arrived.
# The build stops if a line a change hangs on is gone.
set(CIVETWEB_SRC ${EDGECD_DEPS_DIR}/civetweb-src)
set(CIVETWEB_PATCHED ${CMAKE_BINARY_DIR}/civetweb-patched)
file(GLOB civetweb_parts ${CIVETWEB_SRC}/src/*.c ${CIVETWEB_SRC}/src/*.inl ${CIVETWEB_SRC}/src/*.h)
list(REMOVE_ITEM civetweb_parts ${CIVETWEB_SRC}/src/mod_mbedtls.inl ${CIVETWEB_SRC}/src/civetweb.c)
file(COPY ${civetweb_parts} DESTINATION ${CIVETWEB_PATCHED})

# civetweb_text holds the file being changed; each change replaces anchor
# (which must be there) with replacement. Named parameters, not lists:
# C is full of semicolons. The result is written through configure_file so
# an unchanged text keeps its timestamp and does not rebuild civetweb.c at
# every configure.
function(edgecd_civetweb_replace anchor replacement)
  string(FIND "${civetweb_text}" "${anchor}" at)
  if(at LESS 0)
    message(FATAL_ERROR "CivetWeb's sources changed: cannot find \"${anchor}\" to apply "
                        "edgecd's TLS change")
  endif()
  string(REPLACE "${anchor}" "${replacement}" civetweb_text "${civetweb_text}")
  set(civetweb_text "${civetweb_text}" PARENT_SCOPE)
endfunction()
function(edgecd_civetweb_write name)
  file(WRITE ${CMAKE_BINARY_DIR}/${name}.new "${civetweb_text}")
  configure_file(${CMAKE_BINARY_DIR}/${name}.new ${CIVETWEB_PATCHED}/${name} COPYONLY)
endfunction()

file(READ ${CIVETWEB_SRC}/src/mod_mbedtls.inl civetweb_text)
set(civetweb_tls_anchor "mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &ctx->ctr);")
edgecd_civetweb_replace("${civetweb_tls_anchor}" "${civetweb_tls_anchor}
	{
		static const int edgecd_suites[] = {
		    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		    0};
		mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
		mbedtls_ssl_conf_ciphersuites(conf, edgecd_suites);
		mbedtls_ssl_conf_read_timeout(conf, 10000);
	}")
edgecd_civetweb_replace(
  "mbedtls_ssl_set_bio(*ssl, sock, mbedtls_net_send, mbedtls_net_recv, NULL);"
  "mbedtls_ssl_set_bio(*ssl, sock, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);")
edgecd_civetweb_write(mod_mbedtls.inl)

file(READ ${CIVETWEB_SRC}/src/civetweb.c civetweb_text)
edgecd_civetweb_replace("fprintf(stderr, \"SSL read failed, error %d\\n\", nread);"
                        "DEBUG_TRACE(\"SSL read failed, error %d\", nread);")
edgecd_civetweb_replace("static void
close_connection(struct mg_connection *conn)
{" "extern int edgecd_civetweb_accept(const struct mg_context *ctx, const struct sockaddr *sa)
    __attribute__((weak));
extern void edgecd_civetweb_closed(const struct mg_context *ctx, const struct sockaddr *sa)
    __attribute__((weak));

static void
close_connection(struct mg_connection *conn)
{")
edgecd_civetweb_replace("	/* call the connection_closed callback if assigned */"
                        "	if (edgecd_civetweb_closed && conn->phys_ctx->context_type == CONTEXT_SERVER) {
		edgecd_civetweb_closed(conn->phys_ctx, &conn->client.rsa.sa);
	}
	/* call the connection_closed callback if assigned */")
edgecd_civetweb_replace("	} else if (check_acl(ctx, &so.rsa) != 1) {"
                        "	} else if (edgecd_civetweb_accept && !edgecd_civetweb_accept(ctx, &so.rsa.sa)) {
		closesocket(so.sock);
	} else if (check_acl(ctx, &so.rsa) != 1) {")
edgecd_civetweb_replace("			nread += n;
			len -= n;
		}"
                        "			nread += n;
			len -= n;
			if ((timeout >= 0.0) && (mg_get_current_time_ns() - start_time > timeout_ns)) {
				break;
			}
		}")
edgecd_civetweb_write(civetweb.c)
add_library(dep_civetweb STATIC ${CIVETWEB_PATCHED}/civetweb.c)
target_include_directories(dep_civetweb SYSTEM PUBLIC ${CIVETWEB_SRC}/include)
target_compile_definitions(dep_civetweb PRIVATE USE_MBEDTLS NO_CGI NO_FILES NO_CACHING USE_IPV6 NDEBUG)
target_compile_options(dep_civetweb PRIVATE -w)
target_link_libraries(dep_civetweb PUBLIC dep_mbedtls Threads::Threads)
