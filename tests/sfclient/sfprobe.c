/* sfprobe.c — a test driver for the Salesforce client and side (src/sf,
 * src/side/sf_side.c), used by tests/integration/t_sf_client.sh against
 * sfemu. Not part of the product; t_sf_client.sh compiles it.
 *
 *   sfprobe describe OBJ
 *   sfprobe read OBJ rest|bulk FIELDS [LO [HI]]   stdout: rows N sum HEX; rows to $SFPROBE_ROWS
 *   sfprobe scan OBJ FIELDS                        every row once, any order (the side's scan:
 *        Bulk API 2.0 result pages read in SF_BULK_STREAMS streams); output as read
 *   sfprobe digest OBJ count|content FIELDS [LO [HI]]
 *   sfprobe query SOQL FIELDS | bulkq SOQL FIELDS  stdout: rows N, then each row v1|v2...
 *   sfprobe fetch OBJ FIELDS ID...                 stdout: one line per record: v1|v2|...
 *   sfprobe write OBJ insert|update|upsert|delete FIELDS REC...
 *        REC = "sfid|v1|v2..." for FIELDS; "\N" = null, "" = not written.
 *        stdout per record: "ok ID" or "fail CODE message"
 *   sfprobe raw METHOD PATH [BODY]
 * FIELDS is comma-separated. Env: SFPROBE_BUDGET (calls), SFPROBE_PAGE (Bulk
 * maxRecords), SFPROBE_ROWS (file for "sfid hash" lines). stderr gets the
 * calls line, the limit info and the read rate. Exit: 0, or 2/3 by rc. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sfrecon/log.h"
#include "sfrecon/sf.h"
#include "sfrecon/side.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct readctx {
    long rows;
    uint64_t sum;
    FILE *out;
};

static int on_row(void *ctx, const struct sfr_row_summary *row)
{
    struct readctx *r = ctx;
    r->rows++;
    r->sum += row->hash;
    if (r->out != NULL)
        fprintf(r->out, "%s %016" PRIx64 "\n", row->sfid, row->hash);
    return 0;
}

static int print_row(void *ctx, const char *const *values, const size_t *lens)
{
    int n = *(int *)ctx;
    for (int i = 0; i < n; i++)
        printf("%s%s", i ? "|" : "", values[i] ? values[i] : "\\N");
    putchar('\n');
    return 0;
}

static int print_rec(void *ctx, const struct sfr_record *rec)
{
    for (int i = 0; i < rec->n_values; i++)
        printf("%s%s", i ? "|" : "", rec->values[i] ? rec->values[i] : "\\N");
    putchar('\n');
    return 0;
}

struct probe {
    struct sfr_sf *c;
    struct sfr_strv fields;
    const struct sfr_object *obj;
    struct sfr_projection p;
    bool have_p;
};

static enum sfr_rc project(struct probe *pr, const char *obj, const char *fields,
                           struct sfr_err *err)
{
    enum sfr_rc rc = sfr_sf_describe(pr->c, obj, &pr->obj, err);
    if (rc != SFR_OK)
        return rc;
    sfr_strv_split(&pr->fields, fields, ',');
    struct sfr_strv missing = {0};
    sfr_projection_init(&pr->p, pr->obj, (const char *const *)pr->fields.v, (int)pr->fields.n,
                        "salesforce", &missing);
    pr->have_p = true;
    if (missing.n > 0)
        rc = sfr_err_set(err, SFR_ECONFIG, "%s has no field %s", obj, missing.v[0]);
    sfr_strv_cleanup(&missing);
    return rc;
}

static enum sfr_rc cmd_read(struct probe *pr, int argc, char **argv, struct sfr_err *err)
{
    if (argc < 4)
        return sfr_err_set(err, SFR_EUSAGE, "read OBJ rest|bulk FIELDS [LO [HI]]");
    enum sfr_rc rc = project(pr, argv[1], argv[3], err);
    if (rc != SFR_OK)
        return rc;
    bool bulk = strcmp(argv[2], "bulk") == 0;
    struct sfr_side *side = sfr_sf_side_new(pr->c, bulk ? 1 : 0, false);
    struct sfr_range r = {argc > 4 && argv[4][0] ? argv[4] : NULL,
                          argc > 5 && argv[5][0] ? argv[5] : NULL};
    struct readctx x = {0, 0, NULL};
    const char *rows = getenv("SFPROBE_ROWS");
    if (rows != NULL && (x.out = fopen(rows, "w")) == NULL)
        return sfr_err_set(err, SFR_EIO, "%s: cannot write", rows);
    double t0 = now_s();
    rc = sfr_side_stream(side, &pr->p, &r, bulk ? 1 : -1, on_row, &x, err);
    double dt = now_s() - t0;
    if (x.out != NULL)
        fclose(x.out);
    printf("rows %ld sum %016" PRIx64 "\n", x.rows, x.sum);
    fprintf(stderr,
            "read %s: %ld rows in %.3f s = %.0f rows/s; side stats: calls %ld queries %ld\n",
            argv[2], x.rows, dt, dt > 0 ? (double)x.rows / dt : 0.0, side->stats.api_calls,
            side->stats.queries);
    sfr_side_free(side);
    return rc;
}

static enum sfr_rc cmd_scan(struct probe *pr, int argc, char **argv, struct sfr_err *err)
{
    if (argc < 3)
        return sfr_err_set(err, SFR_EUSAGE, "scan OBJ FIELDS");
    enum sfr_rc rc = project(pr, argv[1], argv[2], err);
    if (rc != SFR_OK)
        return rc;
    struct sfr_side *side = sfr_sf_side_new(pr->c, 1, false);
    struct readctx x = {0, 0, NULL};
    const char *rows = getenv("SFPROBE_ROWS");
    if (rows != NULL && (x.out = fopen(rows, "w")) == NULL)
        return sfr_err_set(err, SFR_EIO, "%s: cannot write", rows);
    double t0 = now_s();
    rc = sfr_side_scan(side, &pr->p, on_row, &x, err);
    double dt = now_s() - t0;
    if (x.out != NULL)
        fclose(x.out);
    printf("rows %ld sum %016" PRIx64 "\n", x.rows, x.sum);
    fprintf(stderr,
            "scan: %ld rows in %.3f s = %.0f rows/s; side stats: calls %ld queries %ld rows %ld\n",
            x.rows, dt, dt > 0 ? (double)x.rows / dt : 0.0, side->stats.api_calls,
            side->stats.queries, side->stats.rows_read);
    sfr_side_free(side);
    return rc;
}

static enum sfr_rc cmd_digest(struct probe *pr, int argc, char **argv, struct sfr_err *err)
{
    if (argc < 4)
        return sfr_err_set(err, SFR_EUSAGE, "digest OBJ count|content FIELDS [LO [HI]]");
    enum sfr_rc rc = project(pr, argv[1], argv[3], err);
    if (rc != SFR_OK)
        return rc;
    struct sfr_side *side = sfr_sf_side_new(pr->c, 10000, false);
    struct sfr_range r = {argc > 4 && argv[4][0] ? argv[4] : NULL,
                          argc > 5 && argv[5][0] ? argv[5] : NULL};
    struct sfr_digest d;
    bool count = strcmp(argv[2], "count") == 0;
    rc = sfr_side_digest(side, &pr->p, &r, count ? SFR_DEPTH_COUNT : SFR_DEPTH_CONTENT, &d, err);
    if (rc == SFR_OK) {
        char ts[32] = "null";
        if (d.max_mod_ms != INT64_MIN)
            sfr_format_datetime_ms(d.max_mod_ms, ts);
        printf("count %" PRIu64 " sum %016" PRIx64 " max %s\n", d.count, d.sum, count ? ts : "-");
    }
    sfr_side_free(side);
    return rc;
}

static enum sfr_rc cmd_query(struct probe *pr, int argc, char **argv, bool bulk,
                             struct sfr_err *err)
{
    if (argc < 3)
        return sfr_err_set(err, SFR_EUSAGE, "query SOQL FIELDS");
    sfr_strv_split(&pr->fields, argv[2], ',');
    int n = (int)pr->fields.n;
    long rows = 0;
    enum sfr_rc rc;
    const char *const *f = (const char *const *)pr->fields.v;
    if (bulk)
        rc = sfr_sf_bulk_query(pr->c, argv[1], false, f, n, print_row, &n, &rows, err);
    else
        rc = sfr_sf_query(pr->c, argv[1], false, f, n, print_row, &n, &rows, err);
    printf("rows %ld\n", rows);
    return rc;
}

static enum sfr_rc cmd_fetch(struct probe *pr, int argc, char **argv, struct sfr_err *err)
{
    if (argc < 3)
        return sfr_err_set(err, SFR_EUSAGE, "fetch OBJ FIELDS ID...");
    enum sfr_rc rc = project(pr, argv[1], argv[2], err);
    if (rc != SFR_OK)
        return rc;
    struct sfr_side *side = sfr_sf_side_new(pr->c, 0, false);
    rc =
        sfr_side_fetch(side, &pr->p, (const char *const *)argv + 3, argc - 3, print_rec, NULL, err);
    sfr_side_free(side);
    return rc;
}

static enum sfr_rc cmd_write(struct probe *pr, int argc, char **argv, struct sfr_err *err)
{
    if (argc < 4)
        return sfr_err_set(err, SFR_EUSAGE, "write OBJ KIND FIELDS REC...");
    enum sfr_rc rc = project(pr, argv[1], argv[3], err);
    if (rc != SFR_OK)
        return rc;
    const char *k = argv[2];
    enum sfr_write_kind kind = strcmp(k, "insert") == 0   ? SFR_WRITE_INSERT
                               : strcmp(k, "update") == 0 ? SFR_WRITE_UPDATE
                               : strcmp(k, "delete") == 0 ? SFR_WRITE_DELETE
                                                          : SFR_WRITE_UPSERT;
    int n = argc - 4, nf = pr->p.n_fields;
    struct sfr_write *w = calloc((size_t)n + 1, sizeof(*w));
    char ***vals = calloc((size_t)n + 1, sizeof(char **));
    bool **sets = calloc((size_t)n + 1, sizeof(bool *));
    struct sfr_strv parts[n > 0 ? n : 1];
    memset(parts, 0, sizeof(parts));
    for (int i = 0; i < n; i++) {
        /* split on '|' keeping empty items */
        const char *s = argv[4 + i];
        for (;;) {
            const char *bar = strchr(s, '|');
            size_t len = bar ? (size_t)(bar - s) : strlen(s);
            sfr_strv_take(&parts[i], sfr_strndup(s, len));
            if (bar == NULL)
                break;
            s = bar + 1;
        }
        vals[i] = calloc((size_t)nf + 1, sizeof(char *));
        sets[i] = calloc((size_t)nf + 1, sizeof(bool));
        for (size_t j = 0; j + 1 < parts[i].n && j < pr->fields.n; j++) {
            const char *v = parts[i].v[j + 1];
            int fi = -1;
            for (int q = 0; q < nf; q++)
                if (strcasecmp(pr->p.fields[q]->name, pr->fields.v[j]) == 0)
                    fi = q;
            if (fi < 0 || v[0] == '\0')
                continue;
            sets[i][fi] = true;
            vals[i][fi] = strcmp(v, "\\N") == 0 ? NULL : (char *)v;
        }
        w[i].kind = kind;
        w[i].sfid = parts[i].n > 0 && parts[i].v[0][0] ? parts[i].v[0] : NULL;
        w[i].values = (const char *const *)vals[i];
        w[i].set = sets[i];
    }
    struct sfr_side *side = sfr_sf_side_new(pr->c, 0, false);
    rc = side->ops->write(side, &pr->p, w, n, 0, err);
    for (int i = 0; i < n; i++) {
        if (w[i].ok)
            printf("ok %s\n", w[i].new_id[0] ? w[i].new_id : (w[i].sfid ? w[i].sfid : "-"));
        else
            printf("fail %s %s\n", w[i].error_code, w[i].message);
        free(vals[i]);
        free(sets[i]);
        sfr_strv_cleanup(&parts[i]);
    }
    fprintf(stderr, "written %ld\n", side->stats.rows_written);
    sfr_side_free(side);
    free(w);
    free(vals);
    free(sets);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: sfprobe describe|read|scan|digest|query|bulkq|fetch|write|raw ...\n");
        return 2;
    }
    struct probe pr;
    memset(&pr, 0, sizeof(pr));
    struct sfr_err err;
    sfr_err_clear(&err);
    enum sfr_rc rc = sfr_sf_from_env(NULL, &pr.c, &err);
    if (rc != SFR_OK) {
        sfr_log_err(&err);
        return sfr_rc_exit_code(rc);
    }
    if (getenv("SFPROBE_BUDGET"))
        sfr_sf_set_budget(pr.c, atol(getenv("SFPROBE_BUDGET")));
    if (getenv("SFPROBE_PAGE"))
        sfr_sf_set_bulk_page(pr.c, atol(getenv("SFPROBE_PAGE")));
    sfr_sf_set_phase(pr.c, "test");
    const char *cmd = argv[1];
    argc--, argv++;
    if (strcmp(cmd, "describe") == 0 && argc >= 2) {
        rc = sfr_sf_describe(pr.c, argv[1], &pr.obj, &err);
        if (rc == SFR_OK)
            printf("%s fields %d prefix %s\n", pr.obj->name, pr.obj->n_fields, pr.obj->key_prefix);
    } else if (strcmp(cmd, "read") == 0) {
        rc = cmd_read(&pr, argc, argv, &err);
    } else if (strcmp(cmd, "scan") == 0) {
        rc = cmd_scan(&pr, argc, argv, &err);
    } else if (strcmp(cmd, "digest") == 0) {
        rc = cmd_digest(&pr, argc, argv, &err);
    } else if (strcmp(cmd, "query") == 0 || strcmp(cmd, "bulkq") == 0) {
        rc = cmd_query(&pr, argc, argv, cmd[0] == 'b', &err);
    } else if (strcmp(cmd, "fetch") == 0) {
        rc = cmd_fetch(&pr, argc, argv, &err);
    } else if (strcmp(cmd, "write") == 0) {
        rc = cmd_write(&pr, argc, argv, &err);
    } else if (strcmp(cmd, "raw") == 0 && argc >= 3) {
        struct sfr_buf b = SFR_BUF_INIT;
        long st = 0;
        rc = sfr_sf_request(pr.c, argv[1], argv[2], argc > 3 ? argv[3] : NULL, NULL, &b, &st, &err);
        printf("%ld %s\n", st, b.data ? b.data : "");
        sfr_buf_cleanup(&b);
    } else {
        rc = sfr_err_set(&err, SFR_EUSAGE, "unknown command %s", cmd);
    }
    if (rc != SFR_OK)
        sfr_log_err(&err);
    sfr_sf_print_calls(pr.c, stderr);
    long used, max;
    if (sfr_sf_limit_info(pr.c, &used, &max))
        fprintf(stderr, "limit %ld/%ld\n", used, max);
    if (pr.have_p)
        sfr_projection_cleanup(&pr.p);
    sfr_strv_cleanup(&pr.fields);
    sfr_sf_free(pr.c);
    return sfr_rc_exit_code(rc);
}
