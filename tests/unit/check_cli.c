/* check_cli.c — the command-line layer: one option table per command, the
 * common options declared once, usage errors that echo the bad value, and
 * `help CMD` generated from the table describing every option. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sfrecon/cli.h"
#include "sfrecon/log.h"

static const struct sfr_cli_spec *const specs[] = {
    &sfr_spec_audit, &sfr_spec_repair, &sfr_spec_report,
    &sfr_spec_lint,  &sfr_spec_schema, &sfr_spec_sync,
};
#define N_SPECS ((int)(sizeof(specs) / sizeof(specs[0])))

static char *help_of(const struct sfr_cli_spec *s)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    sfr_cli_help(s, f);
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(f);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
    fclose(f);
    return buf;
}

/* Runs the parser with stderr captured into *err_out (caller frees). */
static int parse_capture(const struct sfr_cli_spec *s, int argc, char **argv,
                         struct sfr_cli_common *c, void *state, char **err_out)
{
    char path[] = "/tmp/check_cli_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    int code = sfr_cli_parse(s, argc, argv, c, state);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    ck_assert_int_eq(pread(fd, buf, (size_t)n, 0), n);
    close(fd);
    unlink(path);
    *err_out = buf;
    return code;
}

START_TEST(test_help_describes_every_option)
{
    const struct sfr_cli_spec *s = specs[_i];
    char *h = help_of(s);
    char want[96];
    snprintf(want, sizeof(want), "Usage: sfrecon %s", s->name);
    ck_assert_msg(strncmp(h, want, strlen(want)) == 0, "%s: usage line", s->name);
    ck_assert_ptr_nonnull(strstr(h, "Exit codes (every command):"));
    ck_assert_ptr_nonnull(strstr(h, "  3  runtime failure"));
    /* every line fits 79 columns */
    for (char *line = h; *line != '\0';) {
        size_t len = strcspn(line, "\n");
        ck_assert_msg(len <= 79, "%s: line of %zu columns: %.*s", s->name, len, (int)len, line);
        line += len + (line[len] == '\n');
    }
    /* every own option is listed with a description after it */
    for (const struct sfr_cli_opt *o = s->opts; o->key != 0; o++) {
        if (o->name == NULL)
            continue;
        snprintf(want, sizeof(want), "--%s", o->name);
        const char *at = strstr(strstr(h, "Options:"), want);
        ck_assert_msg(at != NULL, "%s: %s not in help", s->name, want);
        ck_assert_msg(o->help != NULL && strlen(o->help) > 8, "%s: %s has no help", s->name, want);
        const char *eol = strchr(at, '\n');
        ck_assert_msg(eol - at > 22 || eol[1] == ' ', "%s: %s help missing", s->name, want);
    }
    /* the common ones each command takes */
    if (s->common & SFR_CLI_CONFIG)
        ck_assert_ptr_nonnull(strstr(h, "  -c, --config FILE     mapping"));
    if (s->common & SFR_CLI_VERBOSITY)
        ck_assert_ptr_nonnull(strstr(h, "  -q, --quiet"));
    if (s->common & SFR_CLI_FORMAT)
        ck_assert_ptr_nonnull(strstr(h, "--format F        "));
    ck_assert_ptr_nonnull(strstr(h, "  -h, --help            this help"));
    free(h);
}
END_TEST

enum { K_FLAG = SFR_OPT_OWN, K_VALUE };
struct probe {
    int flags;
    const char *value;
};

static int probe_opt(void *state, int key, const char *arg)
{
    struct probe *p = state;
    if (key == K_FLAG) {
        ck_assert_ptr_null(arg);
        p->flags++;
    } else if (key == K_VALUE) {
        if (strcmp(arg, "bad") == 0)
            return sfr_cli_usage_error("probe", "--value: expected good, got '%s'", arg);
        p->value = arg;
    }
    return 0;
}

static const struct sfr_cli_opt probe_opts[] = {
    {"flag", 'F', NULL, K_FLAG, "a flag"},
    {"value", 0, "V", K_VALUE, "a value"},
    {NULL, 'o', NULL, SFR_OPT_OUT, NULL},
    {0},
};

static const struct sfr_cli_spec probe_spec = {
    .name = "probe",
    .about = "A command for the tests.",
    .common = SFR_CLI_MAPPED | SFR_CLI_FORMAT | SFR_CLI_OUT,
    .formats = SFR_CLI_FMT(SFR_FMT_TEXT) | SFR_CLI_FMT(SFR_FMT_JSON),
    .opts = probe_opts,
    .on_opt = probe_opt,
};

START_TEST(test_parse_common_and_own)
{
    char *argv[] = {"probe",         "-c", "m.json", "--schema", "hc",
                    "--format=json", "-o", "r.json", "-F",       "--flag",
                    "--value",       "x",  "-q",     NULL};
    struct probe p = {0, NULL};
    struct sfr_cli_common c;
    enum sfr_log_level before = sfr_log_get_level();
    char *err = NULL;
    int code = parse_capture(&probe_spec, 13, argv, &c, &p, &err);
    ck_assert_int_eq(code, -1);
    ck_assert_str_eq(err, "");
    ck_assert_str_eq(c.config, "m.json");
    ck_assert(c.config_given);
    ck_assert_str_eq(c.schema, "hc");
    ck_assert_int_eq(c.format, SFR_FMT_JSON);
    ck_assert_str_eq(c.out, "r.json");
    ck_assert_int_eq(p.flags, 2);
    ck_assert_str_eq(p.value, "x");
    ck_assert_int_eq(sfr_log_get_level(), SFR_LOG_WARN);
    sfr_log_set_level(before);
    free(err);
}
END_TEST

START_TEST(test_parse_defaults)
{
    char *argv[] = {"probe", NULL};
    struct probe p = {0, NULL};
    struct sfr_cli_common c;
    char *err = NULL;
    ck_assert_int_eq(parse_capture(&probe_spec, 1, argv, &c, &p, &err), -1);
    ck_assert_str_eq(c.config, "sfrecon.json");
    ck_assert(!c.config_given);
    ck_assert_ptr_null(c.schema);
    ck_assert_ptr_null(c.out);
    ck_assert_int_eq(c.format, SFR_FMT_TEXT);
    free(err);
}
END_TEST

/* {argv..., the message stderr must hold} */
static const struct bad_case {
    const char *argv[4];
    const char *msg;
} bad_cases[] = {
    {{"--bogus"}, "sfrecon probe: unknown option '--bogus'"},
    {{"--bogus=1"}, "unknown option '--bogus'"},
    {{"-x"}, "unknown option '-x'"},
    {{"-c"}, "option '-c' needs a value"},
    {{"--value"}, "option '--value' needs a value"},
    {{"--format", "csv"}, "--format: expected text or json, got 'csv'"},
    {{"--schema", ""}, "--schema: expected a schema name, got ''"},
    {{"--value", "bad"}, "--value: expected good, got 'bad'"},
    {{"extra"}, "unexpected argument 'extra'"},
    {{"--describe", "d"}, "unknown option '--describe'"}, /* not switched on for probe */
};

START_TEST(test_usage_errors_echo_the_value)
{
    const struct bad_case *bc = &bad_cases[_i];
    char *argv[6] = {"probe"};
    int argc = 1;
    for (int k = 0; k < 4 && bc->argv[k] != NULL; k++)
        argv[argc++] = (char *)bc->argv[k];
    struct probe p = {0, NULL};
    struct sfr_cli_common c;
    char *err = NULL;
    ck_assert_int_eq(parse_capture(&probe_spec, argc, argv, &c, &p, &err), 2);
    ck_assert_msg(strstr(err, bc->msg) != NULL, "want '%s' in '%s'", bc->msg, err);
    ck_assert_ptr_nonnull(strstr(err, "Try 'sfrecon help probe'."));
    free(err);
}
END_TEST

START_TEST(test_help_option_returns_zero)
{
    char *argv[] = {"probe", "--help", "--bogus", NULL};
    struct probe p = {0, NULL};
    struct sfr_cli_common c;
    char *err = NULL;
    fflush(stdout);
    FILE *saved = stdout;
    char *buf = NULL;
    size_t len = 0;
    stdout = open_memstream(&buf, &len);
    int code = parse_capture(&probe_spec, 3, argv, &c, &p, &err);
    fclose(stdout);
    stdout = saved;
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_nonnull(strstr(buf, "Usage: sfrecon probe [-F] [--value V]"));
    ck_assert_ptr_nonnull(strstr(buf, "  -o, --out FILE"));
    ck_assert_ptr_nonnull(strstr(buf, "text or json (default text)"));
    free(buf);
    free(err);
}
END_TEST

Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_loop_test(tc, test_help_describes_every_option, 0, N_SPECS);
    tcase_add_test(tc, test_parse_common_and_own);
    tcase_add_test(tc, test_parse_defaults);
    tcase_add_loop_test(tc, test_usage_errors_echo_the_value, 0,
                        (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
    tcase_add_test(tc, test_help_option_returns_zero);
    suite_add_tcase(s, tc);
    return s;
}
