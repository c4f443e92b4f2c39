/* main.c — sfemu command line: parses options, loads the org describe file,
 * prepares the store, starts the HTTP server and serves until SIGTERM/SIGINT.
 *
 *   sfemu --port N --store DATABASE_URL [--org FILE|DIR] [--api-version 60.0]
 *         [--daily-limit N] [--user NAME:PASSWORD] [--admin] [--bind ADDR]
 *         [--instance-url URL]
 *
 * Listens on 127.0.0.1 only unless --bind names another address (IPv4 or
 * IPv6, numeric). Prints exactly "listening on http://HOST:PORT" on stdout
 * once the socket accepts connections (HOST 127.0.0.1 for the default and
 * for the wildcard addresses). --instance-url makes OAuth answers name URL
 * as instance_url (tests of what a client does with a foreign one).
 * Exit codes: 0 clean shutdown, 2 usage or org file, 3 store or socket
 * failure. */
#include <dirent.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "emu.h"
#include "sfrecon/log.h"

struct emu EMU;

struct MHD_Daemon *emu_http_start(const char *bind_addr, unsigned port, unsigned *bound);

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: sfemu --port N --store DATABASE_URL [--org FILE|DIR] [--api-version 60.0]\n"
               "             [--daily-limit N] [--user NAME:PASSWORD] [--admin] [--bind ADDR]\n"
               "             [--instance-url URL]\n"
               "A local emulator of the Salesforce REST API (see docs/emulator.md).\n");
}

/* The shipped org: $SFEMU_ORG, else <bindir>/../tests/sfemu/org/sample-org.json,
 * else <bindir>/../../tests/sfemu/org/sample-org.json (build/<dir>/sfemu). */
static char *default_org(const char *argv0)
{
    const char *env = getenv("SFEMU_ORG");
    if (env != NULL && *env != '\0')
        return sfr_strdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(exe, sizeof exe, "%s", argv0);
        n = (ssize_t)strlen(exe);
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash != NULL)
        *slash = '\0';
    static const char *const rel[] = {"/../tests/sfemu/org/sample-org.json",
                                      "/../../tests/sfemu/org/sample-org.json",
                                      "/../../../tests/sfemu/org/sample-org.json"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char *p = sfr_asprintf("%s%s", exe, rel[i]);
        if (access(p, R_OK) == 0)
            return p;
        free(p);
    }
    return sfr_strdup("tests/sfemu/org/sample-org.json");
}

static bool jbool(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* Keeps each object's describe JSON and the field extras sfr_field lacks. */
/* Adds the describes found in one parsed JSON document to arr: an org file
 * {"sobjects":[describe...]}, an array of describes, or one describe body
 * (as GET /sobjects/X/describe returns it). False when it is none of these. */
static bool add_describes(json_object *arr, json_object *doc)
{
    json_object *list = NULL, *name;
    if (json_object_is_type(doc, json_type_array))
        list = doc;
    else if (json_object_is_type(doc, json_type_object) &&
             json_object_object_get_ex(doc, "sobjects", &list) &&
             json_object_is_type(list, json_type_array))
        ;
    else if (json_object_is_type(doc, json_type_object) &&
             json_object_object_get_ex(doc, "name", &name) &&
             json_object_object_get_ex(doc, "fields", &list)) {
        json_object_array_add(arr, json_object_get(doc));
        return true;
    } else {
        return false;
    }
    for (size_t k = 0; k < json_object_array_length(list); k++)
        json_object_array_add(arr, json_object_get(json_object_array_get_idx(list, k)));
    return true;
}

/* The org's describes from --org: a file (see add_describes) or a directory
 * of such files (*.json). NULL on error, logged with the file name. */
static json_object *read_org(const char *path)
{
    json_object *arr = json_object_new_array();
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            size_t n = strlen(e->d_name);
            if (n < 6 || strcasecmp(e->d_name + n - 5, ".json") != 0)
                continue;
            char *file = sfr_asprintf("%s/%s", path, e->d_name);
            json_object *doc = json_object_from_file(file);
            bool ok = doc != NULL && add_describes(arr, doc);
            if (!ok)
                sfr_log_error("%s: not a describe, an array of describes or an org file (%s)", file,
                              doc ? "unexpected shape" : json_util_get_last_err());
            json_object_put(doc);
            free(file);
            if (!ok) {
                closedir(d);
                json_object_put(arr);
                return NULL;
            }
        }
        if (d != NULL)
            closedir(d);
    } else {
        json_object *doc = json_object_from_file(path);
        bool ok = doc != NULL && add_describes(arr, doc);
        if (!ok)
            sfr_log_error("%s: not a describe, an array of describes or a {\"sobjects\":[...]} "
                          "org file (%s)",
                          path, doc ? "unexpected shape" : json_util_get_last_err());
        json_object_put(doc);
        if (!ok) {
            json_object_put(arr);
            return NULL;
        }
    }
    if (json_object_array_length(arr) == 0) {
        sfr_log_error("%s: no sObject describes found", path);
        json_object_put(arr);
        return NULL;
    }
    return arr;
}

/* Parses every describe of arr into EMU.schema; errors name the object. */
static bool build_schema(json_object *arr, const char *path)
{
    for (size_t k = 0; k < json_object_array_length(arr); k++) {
        const char *text = json_object_to_json_string_ext(json_object_array_get_idx(arr, k),
                                                          JSON_C_TO_STRING_PLAIN);
        struct sfr_object obj;
        struct sfr_err err = {0};
        if (sfr_object_from_describe(text, strlen(text), &obj, &err) != SFR_OK) {
            sfr_log_error("%s: sobjects[%zu]: %s", path, k, err.msg);
            return false;
        }
        sfr_schema_add(&EMU.schema, &obj);
    }
    return true;
}

static bool load_raw_describes(json_object *root)
{
    json_object *arr = root;
    EMU.n_objs = EMU.schema.n_objects;
    EMU.objs = sfr_calloc((size_t)EMU.n_objs, sizeof *EMU.objs);
    for (int i = 0; i < EMU.n_objs; i++) {
        struct emu_object *o = &EMU.objs[i];
        o->obj = &EMU.schema.objects[i];
        o->fx = sfr_calloc((size_t)o->obj->n_fields + 1, sizeof *o->fx);
        for (int f = 0; f < o->obj->n_fields; f++)
            o->fx[f].has_column = o->obj->fields[f].type != SFR_FT_ADDRESS &&
                                  o->obj->fields[f].type != SFR_FT_LOCATION;
    }
    size_t n = json_object_array_length(arr);
    for (size_t k = 0; k < n; k++) {
        json_object *d = json_object_array_get_idx(arr, k), *name, *fields;
        if (!json_object_object_get_ex(d, "name", &name))
            continue;
        struct emu_object *o = emu_object(json_object_get_string(name));
        if (o == NULL)
            continue;
        o->describe = sfr_strdup(json_object_to_json_string_ext(
            d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!json_object_object_get_ex(d, "fields", &fields))
            continue;
        size_t nf = json_object_array_length(fields);
        for (size_t j = 0; j < nf; j++) {
            json_object *fd = json_object_array_get_idx(fields, j), *fname;
            if (!json_object_object_get_ex(fd, "name", &fname))
                continue;
            int idx = sfr_object_field_index(o->obj, json_object_get_string(fname));
            if (idx < 0)
                continue;
            /* A describe without the key (hand-written org files) counts as
             * restricted, so that invalid picklist values are caught. */
            json_object *rp;
            o->fx[idx].restricted_picklist =
                !json_object_object_get_ex(fd, "restrictedPicklist", &rp) ||
                json_object_get_boolean(rp);
            o->fx[idx].defaulted_on_create = jbool(fd, "defaultedOnCreate");
        }
    }
    for (int i = 0; i < EMU.n_objs; i++)
        if (EMU.objs[i].describe == NULL)
            EMU.objs[i].describe = sfr_strdup("{}");
    return true;
}

static const char *bind_addr = "127.0.0.1";

static bool parse_args(int argc, char **argv, char **org)
{
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"store", required_argument, NULL, 's'},
                                         {"org", required_argument, NULL, 'o'},
                                         {"api-version", required_argument, NULL, 'a'},
                                         {"daily-limit", required_argument, NULL, 'l'},
                                         {"user", required_argument, NULL, 'u'},
                                         {"admin", no_argument, NULL, 'A'},
                                         {"bind", required_argument, NULL, 'b'},
                                         {"instance-url", required_argument, NULL, 'i'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    bool have_port = false;
    while ((c = getopt_long(argc, argv, "p:s:o:a:l:u:Ahb:i:", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            EMU.port = (unsigned)strtoul(optarg, NULL, 10);
            have_port = true;
            break;
        case 's':
            EMU.store_url = sfr_strdup(optarg);
            break;
        case 'o':
            *org = sfr_strdup(optarg);
            break;
        case 'a':
            if (atoi(optarg) < 20 || strlen(optarg) > 8) {
                fprintf(stderr, "sfemu: --api-version: expected NN.0, got '%s'\n", optarg);
                return false;
            }
            snprintf(EMU.api_version, sizeof EMU.api_version, "%d.0", atoi(optarg));
            break;
        case 'l':
            EMU.daily_limit = strtol(optarg, NULL, 10);
            break;
        case 'u': {
            const char *colon = strchr(optarg, ':');
            if (colon == NULL) {
                fprintf(stderr, "sfemu: --user: expected NAME:PASSWORD\n");
                return false;
            }
            free(EMU.user);
            free(EMU.password);
            EMU.user = sfr_strndup(optarg, (size_t)(colon - optarg));
            EMU.password = sfr_strdup(colon + 1);
            break;
        }
        case 'A':
            EMU.admin = true;
            break;
        case 'b':
            bind_addr = optarg;
            break;
        case 'i':
            EMU.token_instance_url = sfr_strdup(optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return false;
        }
    }
    if (!have_port || EMU.store_url == NULL || optind != argc) {
        usage(stderr);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    char *org = NULL;
    int rc = 0;
    struct MHD_Daemon *d = NULL;
    pthread_mutex_init(&EMU.lock, NULL);
    pthread_cond_init(&EMU.event_cond, NULL);
    snprintf(EMU.api_version, sizeof EMU.api_version, "60.0");
    EMU.daily_limit = 100000;
    EMU.user = sfr_strdup("admin@example.com");
    EMU.password = sfr_strdup("password");
    EMU.connect_timeout_ms = 110000;
    EMU.bulk_result_page = EMU_BULK_RESULT_PAGE;
    EMU.cdc.retention_ms = 72LL * 3600 * 1000;
    if (!parse_args(argc, argv, &org)) {
        rc = 2;
        goto out;
    }
    EMU.api_major = atoi(EMU.api_version);
    if (org == NULL)
        org = default_org(argv[0]);
    json_object *describes = read_org(org);
    bool org_ok =
        describes != NULL && build_schema(describes, org) && load_raw_describes(describes);
    json_object_put(describes);
    if (!org_ok) {
        rc = 2;
        goto out;
    }
    char msg[1024];
    if (!emu_store_init(msg, sizeof msg)) {
        fprintf(stderr, "sfemu: store: %s\n", msg);
        rc = 3;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    unsigned bound = 0;
    d = emu_http_start(bind_addr, EMU.port, &bound);
    if (d == NULL) {
        fprintf(stderr, "sfemu: cannot listen on %s port %u\n", bind_addr, EMU.port);
        rc = strchr(bind_addr, '.') == NULL && strchr(bind_addr, ':') == NULL ? 2 : 3;
        goto out;
    }
    EMU.port = bound;
    if (strcmp(bind_addr, "0.0.0.0") == 0 || strcmp(bind_addr, "::") == 0)
        snprintf(EMU.base_url, sizeof EMU.base_url, "http://127.0.0.1:%u", bound);
    else if (strchr(bind_addr, ':') != NULL)
        snprintf(EMU.base_url, sizeof EMU.base_url, "http://[%s]:%u", bind_addr, bound);
    else
        snprintf(EMU.base_url, sizeof EMU.base_url, "http://%s:%u", bind_addr, bound);
    printf("listening on %s\n", EMU.base_url);
    fflush(stdout);
    while (!stop_flag)
        pause();
    pthread_mutex_lock(&EMU.lock);
    EMU.stopping = true;
    pthread_cond_broadcast(&EMU.event_cond);
    pthread_mutex_unlock(&EMU.lock);
    MHD_stop_daemon(d);
    d = NULL;
    PGconn *c = emu_pg_get();
    if (c != NULL) {
        emu_persist_usage(c);
        emu_pg_put(c);
    }
out:
    if (d != NULL)
        MHD_stop_daemon(d);
    for (int i = 0; i < EMU.n_pool; i++)
        PQfinish(EMU.pool[i]);
    emu_locators_free();
    emu_jobs_free();
    emu_clients_free();
    for (int i = 0; i < EMU.n_objs; i++) {
        free(EMU.objs[i].describe);
        free(EMU.objs[i].fx);
        free(EMU.objs[i].qtable);
    }
    free(EMU.objs);
    while (EMU.tokens != NULL) {
        struct emu_token *t = EMU.tokens;
        EMU.tokens = t->next;
        free(t->token);
        free(t);
    }
    sfr_schema_cleanup(&EMU.schema);
    free(org);
    free(EMU.store_url);
    free(EMU.user);
    free(EMU.password);
    return rc;
}
