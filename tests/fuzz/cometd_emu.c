/* cometd_emu.c — fuzz target for the emulator's side of CometD (Bayeux)
 * message handling (tests/sfemu/cometd.c, compiled in directly): handshake,
 * subscribe/unsubscribe with replay ids, connect, disconnect, batches and
 * malformed messages, as a client would POST them to /cometd/NN.0.
 *
 * The rest of the emulator is replaced by stubs: no store (so a connect finds
 * no events and returns at once: the connect hold is 0 ms), a fixed client id
 * ("A" x 30, so seed inputs can subscribe after their handshake), two known
 * objects (Account, Invoice__c). Every answer must be a JSON array. */
#include "fuzz.h"

#include "../sfemu/cometd.c"

struct emu EMU = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .event_cond = PTHREAD_COND_INITIALIZER,
};

static struct sfr_object account = {.name = "Account", .table = "account"};
static struct sfr_object invoice = {.name = "Invoice__c", .table = "invoice__c"};
static struct emu_object objs[] = {{.obj = &account}, {.obj = &invoice}};
static int answers;

struct emu_object *emu_object(const char *name)
{
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        if (strcasecmp(objs[i].obj->name, name) == 0)
            return &objs[i];
    return NULL;
}

void emu_random_b62(char *out, int n)
{
    memset(out, 'A', (size_t)n);
    out[n] = '\0';
}

PGconn *emu_pg_get(void)
{
    return NULL;
}

void emu_pg_put(PGconn *c)
{
    (void)c;
}

/* The CDC admin endpoints and event rewriting of cometd.c need these. */
const char *emu_header(struct emu_req *r, const char *name)
{
    (void)r;
    (void)name;
    return NULL;
}

void emu_fmt_pg_datetime(int64_t ms, char out[32])
{
    snprintf(out, 32, "%lld", (long long)ms);
}

void emu_json_str(struct sfr_buf *b, const char *s)
{
    sfr_buf_json_str(b, s);
}

enum MHD_Result emu_send_error(struct emu_req *r, unsigned status, const char *code,
                               const char *fmt, ...)
{
    (void)r;
    (void)code;
    (void)fmt;
    FUZZ_ASSERT(status >= 400);
    answers++;
    return MHD_YES;
}

static void check_answer(const char *json)
{
    json_object *o = json_tokener_parse(json);
    FUZZ_ASSERT(o != NULL && json_object_is_type(o, json_type_array));
    json_object_put(o);
    answers++;
}

enum MHD_Result emu_send_json(struct emu_req *r, unsigned status, struct sfr_buf *body)
{
    (void)r;
    FUZZ_ASSERT(status == 200 || status == 400);
    check_answer(body->data ? body->data : "");
    sfr_buf_cleanup(body);
    return MHD_YES;
}

enum MHD_Result emu_send_str(struct emu_req *r, unsigned status, const char *json)
{
    (void)r;
    FUZZ_ASSERT(status == 200 || status == 400 || status == 401);
    check_answer(json);
    return MHD_YES;
}

enum MHD_Result emu_send_not_found(struct emu_req *r)
{
    (void)r;
    answers++;
    return MHD_YES;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *seg0 = "cometd", *seg1 = "60.0";
    char *segs[2] = {seg0, seg1};
    struct emu_req r = {.method = "POST", .seg = segs, .n_seg = 2};
    sfr_buf_init(&r.body);
    sfr_buf_append(&r.body, data, size);
    answers = 0;
    (void)emu_cometd(&r);
    FUZZ_ASSERT(answers == 1);
    sfr_buf_cleanup(&r.body);
    emu_clients_free();
    return 0;
}
