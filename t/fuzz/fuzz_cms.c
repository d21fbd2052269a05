/*
 * fuzz_cms.c -- libFuzzer target: encrypted and signed batches.
 *
 * verify_cms_decrypt() and verify_cms_verify() on arbitrary bytes (DER,
 * PEM or S/MIME, as verify-import gets them), and, as verify-import
 * does, verify_cms_verify() on whatever a successful decrypt gives.
 *
 * The certificates and the key are a throw-away test PKI embedded below
 * (RSA 2048, made with the openssl command line for this target only;
 * the seeds in t/fuzz/corpus/fuzz_cms/ are encrypted to and signed with
 * it). At start-up they are written to memory files (memfd, opened by
 * /proc/self/fd path) or, failing that, to a fresh temporary directory
 * removed at exit.
 *
 * How the PKI and the seeds were made (openssl 3.0):
 *   openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt \
 *     -days 36500 -subj "/O=mod_verify fuzz/CN=Throw-away fuzz CA" \
 *     -addext basicConstraints=critical,CA:TRUE \
 *     -addext keyUsage=critical,keyCertSign,cRLSign
 *   openssl req -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr \
 *     -subj "/O=mod_verify fuzz/CN=Throw-away fuzz signer and recipient"
 *   openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key \
 *     -CAcreateserial -days 36500 -extfile leaf.ext -out leaf.crt
 *     (leaf.ext: CA:FALSE; digitalSignature, keyEncipherment;
 *      extendedKeyUsage = emailProtection, as t/test_160_cms.py)
 *   openssl cms -sign -binary -nodetach -in X.csv -signer leaf.crt \
 *     -inkey leaf.key -outform DER|PEM|SMIME -out signed.*
 *   openssl cms -encrypt -binary -aes-256-cbc -in signed.der \
 *     -outform DER -out enveloped_signed.der leaf.crt   (and PEM, GCM)
 *
 * Must never crash, leak or trip a sanitizer. Invariants (abort()):
 * a failure sets *err; a success gives NUL-terminated content and, for
 * verify, a signer subject without control characters, '"' or '\\'.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "verify.h"

/* Throw-away test PKI, valid 2026-2126: never use it for anything else.
 * CA_PEM: the signer CA. CERT_PEM/KEY_PEM: the provider's signing
 * certificate, also used as the county's import (recipient) one. */
static const char CA_PEM[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDYTCCAkmgAwIBAgIUJpi2Ht8mvVWpnKjvszaMfZxMeiIwDQYJKoZIhvcNAQEL\n"
    "BQAwNzEYMBYGA1UECgwPbW9kX3ZlcmlmeSBmdXp6MRswGQYDVQQDDBJUaHJvdy1h\n"
    "d2F5IGZ1enogQ0EwIBcNMjYxMTI3MDcwMDEzWhgPMjEyNjExMDMwNzAwMTNaMDcx\n"
    "GDAWBgNVBAoMD21vZF92ZXJpZnkgZnV6ejEbMBkGA1UEAwwSVGhyb3ctYXdheSBm\n"
    "dXp6IENBMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA6FWRzSQGqGC3\n"
    "XeYqCa0EAOiS78qTTlQg4lZT8Cn5AmayJ5VTO2pcKm0+49YcG9Ts7C4IyAioHhMg\n"
    "/2Xm64pdMVe7EUG3xHs4ynNDJniWxGCXsoSikl19/PIzAMWTi16AhqltYOTcKRBx\n"
    "hRsWyWEiEadQcp7UXynrqsb7ucbPykb54tuW8wQ3GrHXMpmPLbjwlXdgpSlqpxiA\n"
    "846hHKWTrfnUP7xVziw8/AvsIVdWYSe6el3SSWvsK7Tyf0JbY5BrXKzUDoSIU9mV\n"
    "v3oSrn8g3EC1PU9rnag17hseEaJSqyEBXE/e3rxx4J6sD+F1cr2zwCI9j9NMhFXk\n"
    "TxKpVMixFwIDAQABo2MwYTAdBgNVHQ4EFgQUI/sFKevcZfKwyjY7W9L03wfUYCMw\n"
    "HwYDVR0jBBgwFoAUI/sFKevcZfKwyjY7W9L03wfUYCMwDwYDVR0TAQH/BAUwAwEB\n"
    "/zAOBgNVHQ8BAf8EBAMCAQYwDQYJKoZIhvcNAQELBQADggEBALQ8rBUQJjTynclo\n"
    "fJ55O48tr0nGgCWOlXz3h83tGI7cc96UukvxLkTn5TiVAg1Bh6F3lsAb08WcX2AR\n"
    "pI8cKlLQXshVvjieeTN/IQ5/4G1v+VBzJk/1SWjM/9sdPLRJd2+e+9QWGMORVWZa\n"
    "l2Bq1/JF5ETKTFIduu2T+YLatltA5rwDWT3V/YY3obC4vn08x1LkZ7Ick/occn/W\n"
    "a1IaaZaz2eU8x8QhT0xkHs70E0ncz3kKX9R7J9Gqyooo8/vc9Y2xUimf0kpVWehu\n"
    "yNsP5sGigXRSq1VhOD5A7BZXT4k4/4BIq8JYb6je2W8Jnh/JSVs/Q0QuZY+ellRG\n"
    "ei35bRU=\n"
    "-----END CERTIFICATE-----\n";

static const char CERT_PEM[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDgjCCAmqgAwIBAgIUMpL67EdQBVKbEikfULPKEmwDMTkwDQYJKoZIhvcNAQEL\n"
    "BQAwNzEYMBYGA1UECgwPbW9kX3ZlcmlmeSBmdXp6MRswGQYDVQQDDBJUaHJvdy1h\n"
    "d2F5IGZ1enogQ0EwIBcNMjYxMTI3MDcwMDEzWhgPMjEyNjExMDMwNzAwMTNaMEkx\n"
    "GDAWBgNVBAoMD21vZF92ZXJpZnkgZnV6ejEtMCsGA1UEAwwkVGhyb3ctYXdheSBm\n"
    "dXp6IHNpZ25lciBhbmQgcmVjaXBpZW50MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n"
    "MIIBCgKCAQEAuaNkmOz4TpPAdlET3N6q7hvFlGPDw3fn7lc7ehjESik6mmX184Xl\n"
    "h7h0NzTs2X821VeewTGPBwgFG/qEq9fVZzMeAZ9EfErBmZ0Qamn1TIgZQMmm6NKG\n"
    "K0dvSniptb/tD8OAC2EIllmj7mKgKNJG9JL2jS0b8IYPuQ7blzNQaSlbxTFOibjR\n"
    "VfN/TA3loMVW/eWY1FFockAvYa0ZQrnke78r8BrhgnNZKI/jbKI4GRhmFPA6+YxD\n"
    "ZHWONWCMCGxG6nWKUixXiMcMio8Vj8Qx9svx++KgmCApsQmJzU4aBvKausYUgvCn\n"
    "nIBVsj7k3ApzQjG+GyQA/TUGFK992ZAKvwIDAQABo3IwcDAJBgNVHRMEAjAAMA4G\n"
    "A1UdDwEB/wQEAwIFoDATBgNVHSUEDDAKBggrBgEFBQcDBDAdBgNVHQ4EFgQUphBz\n"
    "fqIx2cOf7YOW+a8axYaHSMcwHwYDVR0jBBgwFoAUI/sFKevcZfKwyjY7W9L03wfU\n"
    "YCMwDQYJKoZIhvcNAQELBQADggEBAFOWIvFbDROV0OmNl2Y18UrO4+66FEmuIpw0\n"
    "UjXq29xVALbox1VNitXDTvPjqV5IOgFzNJtMBWzILv+z1LXxLmF6L7LEBrQ88uJn\n"
    "VAcOETyaQaqFIRSJGudf78v3/lQNBc9vWZUvkGIFPTehxDlEhk3SQsetpzxDhxCY\n"
    "HcMeh7c/LzyJIi79SS2Rd8k+Ng2tOHualTvitqTbfJ0ipE1WcXxJrOPRQ+3pLl0m\n"
    "+PEqxLN/GTeABMtr7yln3oTU94WgBxhPmISHCrcWegc3E4DITBIdqSLd/19lQ5io\n"
    "b8q/IkYRByXahJ+ukeGx8XNnLr78AXz3Fx0n5V7aGjrAcVfXQyE=\n"
    "-----END CERTIFICATE-----\n";

static const char KEY_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC5o2SY7PhOk8B2\n"
    "URPc3qruG8WUY8PDd+fuVzt6GMRKKTqaZfXzheWHuHQ3NOzZfzbVV57BMY8HCAUb\n"
    "+oSr19VnMx4Bn0R8SsGZnRBqafVMiBlAyabo0oYrR29KeKm1v+0Pw4ALYQiWWaPu\n"
    "YqAo0kb0kvaNLRvwhg+5DtuXM1BpKVvFMU6JuNFV839MDeWgxVb95ZjUUWhyQC9h\n"
    "rRlCueR7vyvwGuGCc1koj+NsojgZGGYU8Dr5jENkdY41YIwIbEbqdYpSLFeIxwyK\n"
    "jxWPxDH2y/H74qCYICmxCYnNThoG8pq6xhSC8KecgFWyPuTcCnNCMb4bJAD9NQYU\n"
    "r33ZkAq/AgMBAAECggEASWUPZeLy/WYvRtghaUbj/8YdJOEYyhSDL1lv24MlQEjy\n"
    "sY60YjbDHBjSYe1b41YHoOvGiY2FhfsmwfwXLjXkWqv8JhoJIrcPuiM+FUSVRk/c\n"
    "5B+WDSEHCN9yYdg5CPG70WqzGkyf74m7ZYm61sjkYtgkAIcgL8VhPAJi0XHpTdnt\n"
    "xboaJ3goDQmJEhYr9u1Rie2v0cuslnYKEIsH/Ke/iE0ClVVUGH45IjzT3I7b1689\n"
    "d7Wzx+XcQky6tRaQg8dSGQpiWsqsM+kboi/PiYnfKZCdBj4ur5duC0HzSdapZwIc\n"
    "47KjHamgjjdJQorpLo2GMfBNqKLQhi97oJsIO2h76QKBgQDz5zGLI6VDBfjgBh41\n"
    "NkEB7Z1nuuPziVMf3YrVjrxsa0JTM6cpfUVPrRu5l7PoHyEg/Cx2nl0d1tDvY98S\n"
    "pKr9lWb4Y4UrrUaibGj/iY1mp71iHi+HR743hWc7ywQYe3LqCL7EX58GLI5qw+ax\n"
    "p+UeHHEXgs7hFiI2lvQUl19R6wKBgQDC2GsKjHT/OAYuQAGDGH2W68sD2CLFKd7q\n"
    "y+GazFO9NDfbHSNpAIDiYfQ09nJQlWgeEkMTVK1DVHe+11eWRnt3RUOSe9jyWafr\n"
    "Ti5KBOVdy3zMAb/k5yjkigb++yqGq8L+XR/vjuoRCwNDIZmjRwyTbR7cO+ka8+hR\n"
    "j2QVbDFhfQKBgF4kTqs2BwPnujg+JErFtjHYVXlEWdgWmU8jZAMqJPB0NhWHSm5p\n"
    "O+eVGa55L6fY3CCvNTpTxf1OfTbphaDcjmNy11voje5d43WuApkfrsSA2kiU/iNp\n"
    "PbKQe1hI9Du+6owK9Bc4EVmAuTfchZ7s/zKwJ7a7dr7KnEoV2gBYrSIhAoGAZld0\n"
    "SdMitNdBb9OQt8IKXVY2iStif/sRKnSyaDOAnHWsDPwOGF36VG4s7hCwVKFVUc43\n"
    "yxSD+USJrQTA7Z7RxQDtkCha+FidOZwT9i8CJrT2NNWKbHn6YagaKp3UZW4ceqyB\n"
    "VLvVN+R37y/b2gY8lccQGY+iTdTlJsnRQOtWOKUCgYBJReBLJ+3Zu5+UMfi3CeyP\n"
    "EGiw6TfwGe93nSsQFgrF3v9ND7lVuOetIaAX3sIOoWsoqAqYAEoqLOdhZaL+SiYU\n"
    "hJ0ygiAdDrbCUCtTNYbI4mAiQ81MPIarD0zXrIKTZvpOLm231WDpnYvkJVkHcj9F\n"
    "Nv4dkL1sxVXgD/ejwJWB1A==\n"
    "-----END PRIVATE KEY-----\n";

static apr_pool_t *root;
static char ca_path[64], cert_path[64], key_path[64];
static char tmp_dir[] = "/tmp/fuzz_cms.XXXXXX";
static int use_tmp;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_cms: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static void cleanup_tmp(void)
{
    if (use_tmp) {
        unlink(ca_path);
        unlink(cert_path);
        unlink(key_path);
        rmdir(tmp_dir);
    }
}

/* Put @p pem where verify_cms_* can open it by name; path into @p out. */
static void put_file(const char *name, const char *pem, char *out,
                     size_t outlen)
{
    size_t len = strlen(pem);
    int fd = -1;

    if (!use_tmp) {
        fd = memfd_create(name, 0);
        if (fd >= 0) {
            snprintf(out, outlen, "/proc/self/fd/%d", fd);
            if (access(out, R_OK) != 0) {
                close(fd);
                fd = -1;
            }
        }
        if (fd < 0) {
            use_tmp = 1;
            if (!mkdtemp(tmp_dir)) {
                die("mkdtemp failed", NULL);
            }
            atexit(cleanup_tmp);
        }
    }
    if (use_tmp) {
        snprintf(out, outlen, "%s/%s", tmp_dir, name);
        fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0) {
            die("cannot write", out);
        }
    }
    if (write(fd, pem, len) != (ssize_t)len) {
        die("cannot write", out);
    }
    if (use_tmp) {
        close(fd);
    }
    /* a memfd stays open: its /proc/self/fd path is the file */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&root, NULL) != APR_SUCCESS) {
        die("cannot initialise APR", NULL);
    }
    put_file("ca.crt", CA_PEM, ca_path, sizeof(ca_path));
    put_file("import.crt", CERT_PEM, cert_path, sizeof(cert_path));
    put_file("import.key", KEY_PEM, key_path, sizeof(key_path));
    return 0;
}

static void check_signed(const char *in, size_t len, apr_pool_t *p)
{
    char *out = NULL, *err = NULL, *signer;
    verify_cms_signer_t who;
    size_t outlen = (size_t)-1;
    const char *c;

    /* the sniffer never parses what is not CMS by its first bytes, and
     * must not crash on anything */
    (void)verify_cms_kind(in, len);
    if (verify_cms_verify(in, len, ca_path, &out, &outlen, &who, &err, p)
        != APR_SUCCESS) {
        if (err == NULL) {
            die("verify_cms_verify failed without a message", NULL);
        }
        return;
    }
    if (out == NULL || out[outlen] != '\0') {
        die("verify_cms_verify: content not NUL-terminated", NULL);
    }
    signer = who.subject;
    if (signer == NULL) {
        die("verify_cms_verify: no signer", NULL);
    }
    for (c = signer; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f
            || *c == '"' || *c == '\\') {
            die("verify_cms_verify: signer subject not plain", signer);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    char *plain = NULL, *err = NULL;
    size_t plen = (size_t)-1;
    apr_pool_t *p;

    if (apr_pool_create(&p, root) != APR_SUCCESS) {
        die("apr_pool_create failed", NULL);
    }
    if (verify_cms_decrypt(in, size, cert_path, key_path, &plain, &plen,
                           &err, p) == APR_SUCCESS) {
        if (plain == NULL || plain[plen] != '\0') {
            die("verify_cms_decrypt: content not NUL-terminated", NULL);
        }
        /* verify-import: the envelope holds the signed batch */
        check_signed(plain, plen, p);
    }
    else if (err == NULL) {
        die("verify_cms_decrypt failed without a message", NULL);
    }
    check_signed(in, size, p);
    apr_pool_destroy(p);
    return 0;
}
