/*
 * The certificates of one kubesim run: a CA, a server certificate for
 * 127.0.0.1, ::1 and localhost, and a client certificate for the
 * system:masters group, all EC P-256 and made fresh at every start so no
 * key material is ever checked in. mbedTLS 2.28 has no API for
 * subjectAltName, so that extension is written as DER by hand.
 */
#ifndef KUBESIM_CERTS_H
#define KUBESIM_CERTS_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "core/buf.h"

struct certs {
    mbedtls_ctr_drbg_context *drbg; /* borrowed, seeded */
    mbedtls_pk_context ca_key, server_key, client_key;
    struct buf ca_pem, server_pem, server_key_pem, client_pem, client_key_pem;
    mbedtls_x509_crt ca_crt;     /* parsed CA, the chain client certs must lead to */
    mbedtls_x509_crt server_crt; /* server chain: leaf then CA */
};

/* Generate everything with drbg (which must outlive c). 0 or ERR_GENERIC
 * with a message. Main thread only. */
int certs_generate(struct certs *c, mbedtls_ctr_drbg_context *drbg);
void certs_dispose(struct certs *c);

#endif
