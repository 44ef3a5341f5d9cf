#!/bin/bash
# HTTPS by default, as an operator and a browser see it, checked with real
# openssl and curl:
#   1. First start: an ECDSA P-256 key (0600) and a self-signed certificate
#      naming the host, localhost and the node's addresses; serve prints the
#      fingerprint openssl computes.
#   2. Every answer (200, 401, 404) carries the security headers, HSTS
#      included; plain HTTP and TLS 1.1 on the HTTPS port are not served;
#      connections that never start a handshake do not stop the server.
#   3. The CLI refuses a server it cannot check, and a wrong certificate;
#      it accepts --ca-file with the right one, the data directory, and
#      --insecure.
#   4. A restart reuses the pair.
#   5. A configured certificate and key are served; a mismatched pair and
#      an unreadable file are refused at start with the file named.
#   6. insecureHTTP: true serves plain HTTP (no HSTS); httpRedirectListen
#      answers 308 to the HTTPS port.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

e2e_start_kubesim
e2e_site_settings >"$work/site.yaml"

# stop_serve: stop the last edgecd serve started.
stop_serve() {
    kill "${pids[-1]}"
    wait "${pids[-1]}" 2>/dev/null || true
    unset 'pids[-1]'
}

# serve_refused WHAT TEXT: serve with site.yaml must exit non-zero, quickly,
# saying TEXT.
serve_refused() {
    if timeout 20 "$EDGECD_BIN" serve --data "$work/data" --config "$work/site.yaml" \
        >"$work/refused.out" 2>"$work/refused.err"; then
        fail "$1: serve started"
    fi
    grep -qF -- "$2" "$work/refused.err" || fail "$1: serve said: $(cat "$work/refused.err")"
    echo "ok: $1 refused"
}

# headers_ok FILE STATUS HSTS(yes|no): curl -i output FILE has STATUS and
# every security header; HSTS exactly when asked.
headers_ok() {
    local f=$1 h
    head -n 1 "$f" | grep -q " $2 " || fail "expected $2, got: $(head -n 1 "$f")"
    for h in "Content-Security-Policy: default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'" \
        "X-Content-Type-Options: nosniff" "Referrer-Policy: no-referrer" \
        "X-Frame-Options: DENY" "Cache-Control: ${4:-no-store}"; do
        tr -d '\r' <"$f" | grep -qixF "$h" || fail "$2 answer lacks \"$h\": $(cat "$f")"
    done
    if [ "$3" = yes ]; then
        tr -d '\r' <"$f" | grep -qixF "Strict-Transport-Security: max-age=31536000" ||
            fail "$2 answer over HTTPS lacks HSTS"
    else
        grep -qi "^Strict-Transport-Security" "$f" && fail "$2 answer over plain HTTP has HSTS"
    fi
    return 0
}

echo "== 1. first start generates the key and the certificate"
e2e_start_serve
case $EDGECD_SERVER in https://127.0.0.1:*) ;; *) fail "serve's URL is $EDGECD_SERVER" ;; esac
[ "$EDGECD_CA_FILE" = "$work/data/keys/tls.crt" ] || fail "certificate printed: $EDGECD_CA_FILE"
[ "$(stat -c %a "$work/data/keys/tls.key")" = 600 ] || fail "tls.key mode $(stat -c %a "$work/data/keys/tls.key")"
openssl x509 -in "$work/data/keys/tls.crt" -noout -text >"$work/crt.txt"
grep -q "Public Key Algorithm: id-ecPublicKey" "$work/crt.txt" || fail "key is not EC: $(cat "$work/crt.txt")"
grep -q "NIST CURVE: P-256" "$work/crt.txt" || fail "curve is not P-256"
grep -q "CA:FALSE" "$work/crt.txt" || fail "certificate is a CA"
grep -q "TLS Web Server Authentication" "$work/crt.txt" || fail "no serverAuth usage"
[ "$(openssl pkey -in "$work/data/keys/tls.key" -noout -text | grep -c 'NIST CURVE: P-256')" = 1 ] ||
    fail "tls.key is not a P-256 key"
# The SANs: host name, localhost, 127.0.0.1 and every address hostname -I
# lists (it leaves out loopback and IPv6 link-local, as edgecd does).
python3 - "$work/crt.txt" "$(hostname)" "$(hostname -I 2>/dev/null || true)" <<'PY' || fail "subjectAltName"
import ipaddress, sys
text = open(sys.argv[1]).read().splitlines()
line = text[[i for i, l in enumerate(text) if "Subject Alternative Name" in l][0] + 1]
dns, ips = set(), set()
for e in line.strip().split(", "):
    kind, _, value = e.partition(":")
    if kind == "DNS":
        dns.add(value)
    elif kind == "IP Address":
        ips.add(ipaddress.ip_address(value))
want_dns = {sys.argv[2], "localhost"}
want_ips = {ipaddress.ip_address("127.0.0.1")} | {ipaddress.ip_address(a) for a in sys.argv[3].split()}
missing = (want_dns - dns) | {str(a) for a in want_ips - ips}
if missing:
    sys.exit("subjectAltName %s lacks %s" % (line.strip(), sorted(missing)))
print("ok: subjectAltName", line.strip())
PY
fp=$(openssl x509 -in "$work/data/keys/tls.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
grep -qF "SHA-256 fingerprint $fp" "$work/serve.out" || fail "serve printed: $(cat "$work/serve.out"), openssl says $fp"
echo "ok: fingerprint $fp"
# Valid for about ten years.
end=$(date -d "$(openssl x509 -in "$work/data/keys/tls.crt" -noout -enddate | sed 's/notAfter=//')" +%s)
[ $((end - $(date +%s))) -gt $((9 * 365 * 86400)) ] || fail "certificate expires $(openssl x509 -in "$work/data/keys/tls.crt" -noout -enddate)"

echo "== 2. security headers on every answer; nothing but TLS 1.2+ on the port"
api_curl -s -i "$EDGECD_SERVER/healthz" >"$work/h200"
headers_ok "$work/h200" 200 yes
api_curl -s -i "$EDGECD_SERVER/api/v1/applications" >"$work/h401"
headers_ok "$work/h401" 401 yes
api_curl -s -i -H "Authorization: Bearer $EDGECD_TOKEN" "$EDGECD_SERVER/api/v1/nosuch" >"$work/h404"
headers_ok "$work/h404" 404 yes
api_curl -s -i "$EDGECD_SERVER/assets/nosuch.js" >"$work/h404b"
headers_ok "$work/h404b" 404 yes
# the web UI's page (any other path outside /api), revalidated by ETag
api_curl -s -i "$EDGECD_SERVER/applications/nosuch" >"$work/hpage"
headers_ok "$work/hpage" 200 yes no-cache
grep -qi '^ETag: "' "$work/hpage" || fail "the page has no ETag: $(cat "$work/hpage")"
echo "ok: headers on 200, 401 and 404, and on the web UI's page"
plain=${EDGECD_SERVER/https:/http:}
if curl -s -m 10 -o "$work/plain.out" -w '%{http_code}' "$plain/healthz" >"$work/plain.code"; then
    fail "plain HTTP on the HTTPS port answered $(cat "$work/plain.code"): $(cat "$work/plain.out")"
fi
echo "ok: plain HTTP on the HTTPS port is not served"
if api_curl -s -m 10 --tls-max 1.1 -o /dev/null "$EDGECD_SERVER/healthz"; then
    fail "a TLS 1.1 handshake was accepted"
fi
cipher=$(openssl s_client -connect "${EDGECD_SERVER#https://}" -CAfile "$EDGECD_CA_FILE" </dev/null 2>/dev/null |
    sed -n 's/^New, \(TLSv1\.[23]\), Cipher is \(.*\)/\1 \2/p')
case $cipher in
"TLSv1.2 ECDHE-ECDSA-AES"*GCM* | "TLSv1.2 ECDHE-ECDSA-CHACHA20"*) echo "ok: negotiated $cipher" ;;
*) fail "negotiated \"$cipher\"" ;;
esac
if openssl s_client -connect "${EDGECD_SERVER#https://}" -tls1_2 -cipher AES128-SHA </dev/null >/dev/null 2>&1; then
    fail "a CBC suite without forward secrecy was accepted"
fi
echo "ok: TLS 1.1 and a non-AEAD suite are refused"
# Connections that never start a handshake hold a worker each (4) until
# the handshake read times out (10 s); then the server answers again.
python3 - "${EDGECD_SERVER#https://}" "$EDGECD_CA_FILE" <<'PY' || fail "idle TLS connections"
import socket, subprocess, sys, time
host, port = sys.argv[1].rsplit(":", 1)
idle = [socket.create_connection((host, int(port))) for _ in range(6)]
time.sleep(0.5)
t = time.time()
code = subprocess.run(["curl", "-s", "-m", "40", "--cacert", sys.argv[2], "-o", "/dev/null",
                       "-w", "%{http_code}", "https://%s/healthz" % sys.argv[1]],
                      capture_output=True, text=True).stdout
if code != "200":
    sys.exit("with 6 connections idle before their handshake, /healthz answered %r after %.1fs"
             % (code, time.time() - t))
print("ok: answered %.1fs after 6 idle connections took the workers" % (time.time() - t))
PY

echo "== 3. the CLI checks the certificate"
ca=$EDGECD_CA_FILE
if env -u EDGECD_CA_FILE EDGECD_DATA="$work/nodata" "$EDGECD_BIN" app list >/dev/null 2>"$work/cli.err"; then
    fail "the CLI talked to a server it could not check"
fi
for w in --ca-file EDGECD_CA_FILE --data --insecure; do
    grep -qF -- "$w" "$work/cli.err" || fail "the CLI's refusal does not name $w: $(cat "$work/cli.err")"
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/other.key" \
    -out "$work/other.crt" -subj /CN=other -days 30 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
if "$EDGECD_BIN" app list --ca-file "$work/other.crt" >/dev/null 2>"$work/cli.err"; then
    fail "the CLI accepted a server whose certificate is not the one given"
fi
grep -q "verification failed" "$work/cli.err" || fail "wrong certificate: $(cat "$work/cli.err")"
env -u EDGECD_CA_FILE "$EDGECD_BIN" app list --ca-file "$ca" >/dev/null || fail "--ca-file with the right certificate"
env -u EDGECD_CA_FILE -u EDGECD_TOKEN "$EDGECD_BIN" app list --data "$work/data" >/dev/null ||
    fail "--data on the server's machine"
env -u EDGECD_CA_FILE "$EDGECD_BIN" app list --insecure >/dev/null || fail "--insecure"
echo "ok: refused without a certificate and with a wrong one; --ca-file, --data and --insecure work"

echo "== 4. a restart reuses the pair"
sum=$(sha256sum "$work/data/keys/tls.key" "$work/data/keys/tls.crt")
stop_serve
e2e_start_serve
[ "$(sha256sum "$work/data/keys/tls.key" "$work/data/keys/tls.crt")" = "$sum" ] || fail "the pair changed on restart"
grep -qF "SHA-256 fingerprint $fp" "$work/serve.out" || fail "fingerprint after restart: $(cat "$work/serve.out")"
"$EDGECD_BIN" app list >/dev/null || fail "CLI after restart"
echo "ok: same key and certificate after a restart"
stop_serve

echo "== 5. a configured certificate and key"
mkdir -p "$work/site-tls"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/site-tls/site.key" -out "$work/site-tls/site.crt" \
    -subj /CN=edge.example -days 30 -addext "subjectAltName=DNS:edge.example,IP:127.0.0.1" 2>/dev/null
# relative to the config file
e2e_site_settings "tlsCertFile: site-tls/site.crt" "tlsKeyFile: site-tls/site.key" >"$work/site.yaml"
e2e_start_serve
[ "$EDGECD_CA_FILE" = "$work/site-tls/site.crt" ] || fail "serve names $EDGECD_CA_FILE"
site_fp=$(openssl x509 -in "$work/site-tls/site.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
grep -qF "SHA-256 fingerprint $site_fp" "$work/serve.out" || fail "serve printed: $(cat "$work/serve.out")"
served=$(openssl s_client -connect "${EDGECD_SERVER#https://}" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//')
[ "$served" = "$site_fp" ] || fail "served certificate $served, configured $site_fp"
"$EDGECD_BIN" app list >/dev/null || fail "CLI with the configured certificate"
echo "ok: the configured pair is served (ECDHE-RSA)"
stop_serve
e2e_site_settings "tlsCertFile: site-tls/site.crt" "tlsKeyFile: $work/other.key" >"$work/site.yaml"
serve_refused "a key that is not the certificate's" "does not belong to the certificate"
e2e_site_settings "tlsCertFile: site-tls/nosuch.crt" "tlsKeyFile: site-tls/site.key" >"$work/site.yaml"
serve_refused "a missing certificate file" "nosuch.crt"
e2e_site_settings "tlsCertFile: site-tls/site.key" "tlsKeyFile: site-tls/site.key" >"$work/site.yaml"
serve_refused "a key given as the certificate" "not a PEM certificate"
e2e_site_settings "tlsCertFile: site-tls/site.crt" >"$work/site.yaml"
serve_refused "a certificate without a key" "set both or neither"
e2e_site_settings "insecureHTTP: true" "tlsCertFile: site-tls/site.crt" "tlsKeyFile: site-tls/site.key" >"$work/site.yaml"
serve_refused "insecureHTTP with a certificate" "insecureHTTP"

echo "== 6. insecureHTTP: true serves plain HTTP; httpRedirectListen redirects"
e2e_site_settings "insecureHTTP: true" >"$work/site.yaml"
e2e_start_serve
case $EDGECD_SERVER in http://127.0.0.1:*) ;; *) fail "insecureHTTP URL is $EDGECD_SERVER" ;; esac
[ -z "$EDGECD_CA_FILE" ] || fail "insecureHTTP printed a certificate"
curl -s -i "$EDGECD_SERVER/healthz" >"$work/p200"
headers_ok "$work/p200" 200 no
curl -s -i "$EDGECD_SERVER/api/v1/applications" >"$work/p401"
headers_ok "$work/p401" 401 no
"$EDGECD_BIN" app list >/dev/null || fail "CLI over plain HTTP"
echo "ok: plain HTTP, security headers without HSTS"
stop_serve
e2e_site_settings "httpRedirectListen: 127.0.0.1:0" >"$work/site.yaml"
e2e_start_serve
redirect=$(sed -n 's|.*edgecd: \(http://[^ ]*\) redirects to HTTPS.*|\1|p' "$work/serve.out")
[ -n "$redirect" ] || fail "no redirect port printed: $(cat "$work/serve.out")"
curl -s -i "$redirect/api/v1/applications?x=1" >"$work/r308"
headers_ok "$work/r308" 308 no
tr -d '\r' <"$work/r308" | grep -qx "Location: $EDGECD_SERVER/api/v1/applications?x=1" ||
    fail "redirect: $(cat "$work/r308")"
code=$(api_curl -s --location-trusted -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $EDGECD_TOKEN" "$redirect/api/v1/applications")
[ "$code" = 200 ] || fail "following the redirect answered $code"
echo "ok: the redirect port answers 308 to the HTTPS port"
echo "PASS"
