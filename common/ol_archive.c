/* ol_archive — see ol_archive.h. */
#include "ol_archive.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ol_archive_chain(const uint8_t prev[32], const void *body, size_t len, uint8_t out[32])
{
    SHA256_CTX c;
    /* the one-shot API cannot take two pieces; EVP would be heavier than needed */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    SHA256_Init(&c);
    SHA256_Update(&c, prev, 32);
    SHA256_Update(&c, body, len);
    SHA256_Final(out, &c);
#pragma GCC diagnostic pop
}

int ol_archive_row(const ol_record *r, const uint8_t prev[32], uint8_t **row, size_t *len)
{
    size_t tl = strlen(r->topic);
    if (tl > 255)
        return -1;
    size_t body = 8 + 4 + 8 + 2 + tl + 4 + (r->key ? r->key_len : 0) + 4 + r->value_len + 2;
    if (r->nheaders > 0xffff)
        return -1;
    for (size_t i = 0; i < r->nheaders; i++)
        body += 2 + strlen(r->headers[i].name) + 4 + r->headers[i].len;
    uint8_t *b = malloc(32 + body), *p;
    if (!b)
        return -1;
    p = b + 32;
    ol_put_be64(p, (uint64_t)r->timestamp_ms);
    ol_put_be32(p + 8, (uint32_t)r->partition);
    ol_put_be64(p + 12, (uint64_t)r->offset);
    p[20] = (uint8_t)(tl >> 8), p[21] = (uint8_t)tl;
    memcpy(p + 22, r->topic, tl);
    p += 22 + tl;
    ol_put_be32(p, r->key ? (uint32_t)r->key_len : 0xffffffffu);
    if (r->key)
        memcpy(p + 4, r->key, r->key_len);
    p += 4 + (r->key ? r->key_len : 0);
    ol_put_be32(p, (uint32_t)r->value_len);
    memcpy(p + 4, r->value, r->value_len);
    p += 4 + r->value_len;
    p[0] = (uint8_t)(r->nheaders >> 8), p[1] = (uint8_t)r->nheaders;
    p += 2;
    for (size_t i = 0; i < r->nheaders; i++) {
        size_t nl = strlen(r->headers[i].name);
        p[0] = (uint8_t)(nl >> 8), p[1] = (uint8_t)nl;
        memcpy(p + 2, r->headers[i].name, nl);
        p += 2 + nl;
        ol_put_be32(p, (uint32_t)r->headers[i].len);
        memcpy(p + 4, r->headers[i].value, r->headers[i].len);
        p += 4 + r->headers[i].len;
    }
    ol_archive_chain(prev, b + 32, body, b);
    *row = b;
    *len = 32 + body;
    return 0;
}

int ol_archive_parse(uint64_t seq, const MDB_val *v, ol_arec *a)
{
    const uint8_t *p = v->mv_data, *end = p + v->mv_size;
    memset(a, 0, sizeof *a);
    if (v->mv_size < 32 + 22)
        return -1;
    a->seq = seq;
    a->hash = p;
    a->body = p + 32;
    a->body_len = v->mv_size - 32;
    p += 32;
    a->timestamp_ms = (int64_t)ol_be64(p);
    a->partition = (int32_t)ol_be32(p + 8);
    a->offset = (int64_t)ol_be64(p + 12);
    size_t tl = ((size_t)p[20] << 8) | p[21];
    p += 22;
    if ((size_t)(end - p) < tl + 4)
        return -1;
    memcpy(a->topic, p, tl);
    a->topic[tl] = '\0';
    p += tl;
    uint32_t kl = ol_be32(p);
    p += 4;
    if (kl != 0xffffffffu) {
        if ((size_t)(end - p) < (size_t)kl + 4)
            return -1;
        a->key = p;
        a->key_len = kl;
        p += kl;
    }
    if (end - p < 4)
        return -1;
    a->value_len = ol_be32(p);
    p += 4;
    if ((size_t)(end - p) < a->value_len + 2)
        return -1;
    a->value = p;
    p += a->value_len;
    a->nheaders = ((size_t)p[0] << 8) | p[1];
    p += 2;
    a->headers = p;
    /* walk the section once so that a malformed row is caught here */
    for (size_t i = 0; i < a->nheaders; i++) {
        if (end - p < 2)
            return -1;
        size_t nl = ((size_t)p[0] << 8) | p[1];
        if ((size_t)(end - p) < 2 + nl + 4)
            return -1;
        p += 2 + nl;
        size_t vl = ol_be32(p);
        if ((size_t)(end - p) < 4 + vl)
            return -1;
        p += 4 + vl;
    }
    return p == end ? 0 : -1;
}

int ol_archive_header(const ol_arec *a, size_t i, const char **name, size_t *name_len, const void **value,
                      size_t *value_len)
{
    const uint8_t *p = a->headers;
    if (i >= a->nheaders)
        return -1;
    for (size_t j = 0;; j++) {
        size_t nl = ((size_t)p[0] << 8) | p[1];
        size_t vl = ol_be32(p + 2 + nl);
        if (j == i) {
            *name = (const char *)p + 2;
            *name_len = nl;
            *value = p + 2 + nl + 4;
            *value_len = vl;
            return 0;
        }
        p += 2 + nl + 4 + vl;
    }
}

void ol_archive_dir(const ol_config *cfg, const char *flag, char *out, size_t outlen)
{
    const char *conf = ol_config_get(cfg, "archive_dir", NULL);
    if (flag)
        snprintf(out, outlen, "%s", flag);
    else if (conf)
        snprintf(out, outlen, "%s", conf);
    else
        snprintf(out, outlen, "%s/archive", ol_config_get(cfg, "data_dir", OL_DEFAULT_DATA_DIR));
}

int ol_archive_open(ol_store *st, const char *dir, int readonly, char *err, size_t errlen)
{
    static const char *const dbs[] = {OL_RT_DBS, OL_ARCHIVE_DBS, NULL};
    /* a truncated or foreign data.mdb is an error here, not SIGBUS later */
    if (ol_archive_check_file(dir, err, errlen))
        return -1;
    return ol_store_open(st, dir, 1ULL << 34, readonly, dbs, err, errlen);
}
