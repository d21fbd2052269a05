/*
 * test_cms.c -- what a batch file is at first sight (verify_cms_kind):
 * DER told by its content type's OID in the first bytes, whatever its
 * length form; PEM and S/MIME parsed; a CSV never parsed as CMS. Real
 * CMS files are opened by the integration tests (t/test_160_cms.py,
 * t/test_165_strict_intake.py) and fuzzed (t/fuzz/fuzz_cms.c).
 */
#include "unit.h"

/* SEQUENCE, length bytes @p len (of @p lenlen), then the OID @p oid. */
static verify_cms_kind_t der(const unsigned char *lenb, size_t lenlen,
                             const unsigned char *oid, size_t oidlen)
{
    unsigned char buf[64];
    size_t n = 0;

    buf[n++] = 0x30;
    memcpy(buf + n, lenb, lenlen);
    n += lenlen;
    memcpy(buf + n, oid, oidlen);
    n += oidlen;
    memset(buf + n, 0xa0, 8);   /* [0] content would follow */
    n += 8;
    return verify_cms_kind((const char *)buf, n);
}

#define PKCS7 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07

static void test_der(void)
{
    static const unsigned char signed_oid[] = { PKCS7, 0x02 };
    static const unsigned char env_oid[] = { PKCS7, 0x03 };
    static const unsigned char data_oid[] = { PKCS7, 0x01 };
    static const unsigned char auth_env[] = {
        0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10,
        0x01, 0x17
    };
    static const unsigned char other_oid[] = { 0x06, 0x03, 0x55, 0x04, 0x03 };
    static const unsigned char l82[] = { 0x82, 0x12, 0x34 };
    static const unsigned char l84[] = { 0x84, 0, 0x12, 0x34, 0x56 };
    static const unsigned char indef[] = { 0x80 };
    static const unsigned char shortl[] = { 0x30 };

    is_int(der(l82, 3, env_oid, sizeof(env_oid)), VERIFY_CMS_ENVELOPED,
           "DER enveloped data, long length");
    is_int(der(l84, 5, signed_oid, sizeof(signed_oid)), VERIFY_CMS_SIGNED,
           "DER signed data, four length bytes");
    is_int(der(indef, 1, env_oid, sizeof(env_oid)), VERIFY_CMS_ENVELOPED,
           "BER, indefinite length (openssl cms -stream)");
    is_int(der(l82, 3, auth_env, sizeof(auth_env)), VERIFY_CMS_ENVELOPED,
           "authenticated enveloped data (AES-GCM) is encrypted too");
    is_int(der(l82, 3, data_oid, sizeof(data_oid)), VERIFY_CMS_OTHER,
           "another CMS content type");
    is_int(der(l82, 3, other_oid, sizeof(other_oid)), VERIFY_CMS_OTHER,
           "binary DER of something else: not taken as a CSV");
    is_int(der(shortl, 1, other_oid, sizeof(other_oid)), VERIFY_CMS_PLAIN,
           "a short-form '0' start without the OID: plain");
}

static void test_text(void)
{
    static const char *const plain[] = {
        "id,name,birth_date,indigenous\nA123456789,X,1950-03-04,\n",
        "\xef\xbb\xbf\xe7\xb5\xb1\xe4\xb8\x80\xe7\xb7\xa8\xe8\x99\x9f,x\n",
        "\"id\",\"name\"\n",
        "-----BEGIN CMS-----\nnot base64 at all\n-----END CMS-----\n",
        "MIME-Version: 1.0\nContent-Type: text/plain\n\nhello\n",
        "",
        "0",
    };
    size_t i;

    for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        is_int(verify_cms_kind(plain[i], strlen(plain[i])), VERIFY_CMS_PLAIN,
               "plain: %.20s", plain[i]);
    }
    is_str(verify_cms_kind_name(VERIFY_CMS_PLAIN), "a plain file, not CMS",
           "named for messages");
}

int main(void)
{
    unit_begin();
    test_der();
    test_text();
    return unit_end();
}
