/* options.c — the one option parser of every subcommand and the help
 * generated from the same tables (cli.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfrecon/cli.h"
#include "sfrecon/mem.h"

/* The common options, declared once; a command switches them on with its
 * SFR_CLI_* bits and may give one a letter or help text of its own. */
static const struct {
    unsigned bit;
    struct sfr_cli_opt opt;
} common_opts[] = {
    {SFR_CLI_CONFIG,
     {"config", 'c', "FILE", SFR_OPT_CONFIG,
      "mapping (Heroku Connect export); default sfrecon.json"}},
    {SFR_CLI_SCHEMA,
     {"schema", 0, "NAME", SFR_OPT_SCHEMA,
      "mirror schema (default: the mapping's, else salesforce)"}},
    {SFR_CLI_DESCRIBE,
     {"describe", 0, "PATH", SFR_OPT_DESCRIBE,
      "directory of <Object>.json describes, or one file {\"sobjects\":[...]}; "
      "default $SFRECON_DESCRIBE, else the Salesforce API"}},
    {SFR_CLI_FORMAT, {"format", 0, "F", SFR_OPT_FORMAT, NULL}},
    {SFR_CLI_OUT, {"out", 0, "FILE", SFR_OPT_OUT, "write the report to FILE instead of stdout"}},
    {SFR_CLI_VERBOSITY, {"quiet", 'q', NULL, SFR_OPT_QUIET, "only warnings and errors on stderr"}},
    {SFR_CLI_VERBOSITY, {"verbose", 'v', NULL, SFR_OPT_VERBOSE, "debug messages on stderr"}},
    {0, {"help", 'h', NULL, SFR_OPT_HELP, "this help"}},
};
#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))

#define HELP_COL 24 /* where option help starts */

static const char *const format_names[] = {"text", "json", "csv", "html", "prometheus"};
#define N_FORMATS (sizeof(format_names) / sizeof(format_names[0]))

/* The command's override row for a common key, or NULL. */
static const struct sfr_cli_opt * override(const struct sfr_cli_spec *s, int key)
{
    for (const struct sfr_cli_opt *o = s->opts; o != NULL && o->key != 0; o++)
        if (o->name == NULL && o->key == key)
            return o;
    return NULL;
}

/* Every option of the command, its own first, then the common ones with
 * the command's overrides applied. */
static size_t collect(const struct sfr_cli_spec *s, struct sfr_cli_opt *out)
{
    size_t n = 0;
    for (const struct sfr_cli_opt *o = s->opts; o != NULL && o->key != 0; o++)
        if (o->name != NULL)
            out[n++] = *o;
    for (size_t i = 0; i < N_COMMON; i++) {
        if (common_opts[i].bit != 0 && (s->common & common_opts[i].bit) == 0)
            continue;
        out[n] = common_opts[i].opt;
        const struct sfr_cli_opt *ov = override(s, out[n].key);
        if (ov != NULL && ov->letter != 0)
            out[n].letter = ov->letter;
        if (ov != NULL && ov->help != NULL)
            out[n].help = ov->help;
        n++;
    }
    return n;
}

static size_t count_opts(const struct sfr_cli_spec *s)
{
    size_t n = N_COMMON;
    for (const struct sfr_cli_opt *o = s->opts; o != NULL && o->key != 0; o++)
        n++;
    return n;
}

static void format_list(const struct sfr_cli_spec *s, char *buf, size_t n, const char *sep,
                        const char *last)
{
    size_t k = 0, total = 0;
    buf[0] = '\0';
    for (size_t f = 0; f < N_FORMATS; f++)
        total += (s->formats & SFR_CLI_FMT(f)) != 0;
    for (size_t f = 0; f < N_FORMATS; f++) {
        if ((s->formats & SFR_CLI_FMT(f)) == 0)
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s",
                 k == 0           ? ""
                 : k + 1 == total ? last
                                  : sep,
                 format_names[f]);
        k++;
    }
}

static int parse_format(const struct sfr_cli_spec *s, const char *arg, struct sfr_cli_common *c)
{
    for (size_t f = 0; f < N_FORMATS; f++) {
        if ((s->formats & SFR_CLI_FMT(f)) != 0 && strcmp(arg, format_names[f]) == 0) {
            c->format = (enum sfr_format)f;
            c->format_given = true;
            return 0;
        }
    }
    char list[64];
    format_list(s, list, sizeof(list), ", ", " or ");
    return sfr_cli_usage_error(s->name, "--format: expected %s, got '%s'", list, arg);
}

static int common_opt(const struct sfr_cli_spec *s, int key, const char *arg,
                      struct sfr_cli_common *c)
{
    switch (key) {
    case SFR_OPT_CONFIG:
        if (*arg == '\0')
            return sfr_cli_usage_error(s->name, "-c/--config: expected a mapping file, got ''");
        c->config = arg;
        c->config_given = true;
        return 0;
    case SFR_OPT_SCHEMA:
        if (*arg == '\0')
            return sfr_cli_usage_error(s->name, "--schema: expected a schema name, got ''");
        c->schema = arg;
        return 0;
    case SFR_OPT_DESCRIBE:
        c->describe = arg;
        return 0;
    case SFR_OPT_FORMAT:
        return parse_format(s, arg, c);
    case SFR_OPT_OUT:
        if (*arg == '\0')
            return sfr_cli_usage_error(s->name, "--out: expected a file name, got ''");
        c->out = arg;
        return 0;
    case SFR_OPT_QUIET:
        c->log_level = SFR_LOG_WARN;
        return 0;
    case SFR_OPT_VERBOSE:
        c->log_level = SFR_LOG_DEBUG;
        return 0;
    default:
        return 0;
    }
}

/* The option argv[optind - 1] named, for messages. */
static void offender(int optopt_, char **argv, int idx, char *buf, size_t n)
{
    if (optopt_ > ' ' && optopt_ < 127)
        snprintf(buf, n, "-%c", optopt_);
    else if (idx > 0)
        snprintf(buf, n, "%s", argv[idx - 1]);
    else
        snprintf(buf, n, "?");
    char *eq = strchr(buf, '=');
    if (buf[0] == '-' && buf[1] == '-' && eq != NULL)
        *eq = '\0';
}

int sfr_cli_parse(const struct sfr_cli_spec *spec, int argc, char **argv, struct sfr_cli_common *c,
                  void *state)
{
    memset(c, 0, sizeof(*c));
    c->config = "sfrecon.json";
    c->format = SFR_FMT_TEXT;
    c->log_level = sfr_log_get_level();
    size_t max = count_opts(spec);
    struct sfr_cli_opt *all = sfr_calloc(max + 1, sizeof(*all));
    size_t n = collect(spec, all);
    struct option *lo = sfr_calloc(n + 1, sizeof(*lo));
    char *shorts = sfr_calloc(2 * n + 2, 1);
    size_t ns = 0;
    shorts[ns++] = ':';
    for (size_t i = 0; i < n; i++) {
        lo[i].name = all[i].name;
        lo[i].has_arg = all[i].arg != NULL ? required_argument : no_argument;
        lo[i].val = all[i].key;
        if (all[i].letter != 0) {
            shorts[ns++] = all[i].letter;
            if (all[i].arg != NULL)
                shorts[ns++] = ':';
        }
    }
    int code = -1;
    int ch;
    opterr = 0;
    optind = 1;
    while (code < 0 && (ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        char who[128];
        if (ch == '?' || ch == ':') {
            offender(optopt, argv, optind, who, sizeof(who));
            code = ch == ':' ? sfr_cli_usage_error(spec->name, "option '%s' needs a value", who)
                             : sfr_cli_usage_error(spec->name, "unknown option '%s'", who);
            break;
        }
        int key = ch;
        for (size_t i = 0; i < n; i++)
            if (all[i].letter != 0 && all[i].letter == ch)
                key = all[i].key;
        if (key == SFR_OPT_HELP) {
            sfr_cli_help(spec, stdout);
            code = 0;
        } else if (key < SFR_OPT_OWN) {
            code = common_opt(spec, key, optarg, c);
        } else if (spec->on_opt != NULL) {
            bool flag = true;
            for (size_t i = 0; i < n; i++)
                if (all[i].key == key)
                    flag = all[i].arg == NULL;
            code = spec->on_opt(state, key, flag ? NULL : optarg);
        }
        if (code == 0 && key != SFR_OPT_HELP)
            code = -1;
    }
    for (; code < 0 && optind < argc; optind++) {
        code = spec->on_arg != NULL
                   ? spec->on_arg(state, argv[optind])
                   : sfr_cli_usage_error(spec->name, "unexpected argument '%s'", argv[optind]);
        if (code == 0)
            code = -1;
    }
    free(shorts);
    free(lo);
    free(all);
    if (code < 0)
        sfr_log_set_level(c->log_level);
    return code;
}

/* "[-c FILE]" / "[--depth D]" / "[-q|-v]" into the usage lines, wrapped. */
static void usage_lines(const struct sfr_cli_spec *s, const struct sfr_cli_opt *all, size_t n,
                        FILE *out)
{
    char head[64];
    int indent = snprintf(head, sizeof(head), "Usage: sfrecon %s", s->name);
    fputs(head, out);
    int col = indent;
    for (size_t i = 0; i < n; i++) {
        char item[128];
        const struct sfr_cli_opt *o = &all[i];
        if (o->key == SFR_OPT_HELP || o->key == SFR_OPT_VERBOSE)
            continue;
        if (o->key == SFR_OPT_QUIET)
            snprintf(item, sizeof(item), " [-q|-v]");
        else if (o->letter != 0)
            snprintf(item, sizeof(item), " [-%c%s%s]", o->letter, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(item, sizeof(item), " [--%s%s%s]", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        int len = (int)strlen(item);
        if (col + len > 79) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        }
        fputs(item, out);
        col += len;
    }
    fputc('\n', out);
    if (s->also != NULL)
        fprintf(out, "%s\n", s->also);
}

static void option_help(const struct sfr_cli_spec *s, const struct sfr_cli_opt *o, FILE *out)
{
    char left[64];
    if (o->letter != 0)
        snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->letter, o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
    else
        snprintf(left, sizeof(left), "      --%s%s%s", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
    char fmt_help[128];
    const char *help = o->help;
    if (o->key == SFR_OPT_FORMAT && help == NULL) {
        char list[64];
        format_list(s, list, sizeof(list), ", ", " or ");
        snprintf(fmt_help, sizeof(fmt_help), "report format: %s (default text)", list);
        help = fmt_help;
    }
    if (help == NULL)
        help = "";
    fputs(left, out);
    int col = (int)strlen(left);
    if (col >= HELP_COL - 1) {
        fputc('\n', out);
        col = 0;
    }
    /* word-wrapped at column 79; '\n' in the text forces a break */
    const char *p = help;
    bool first = true;
    while (*p != '\0') {
        size_t w = strcspn(p, " \n");
        if (!first && col + 1 + (int)w > 79) {
            fputc('\n', out);
            col = 0;
        }
        if (col < HELP_COL) {
            fprintf(out, "%*s", HELP_COL - col, "");
            col = HELP_COL;
        } else {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, w, out);
        col += (int)w;
        first = false;
        p += w;
        if (*p == '\n') {
            fputc('\n', out);
            col = 0;
            first = true;
        }
        if (*p != '\0')
            p++;
    }
    fputc('\n', out);
}

void sfr_cli_exit_table(FILE *out)
{
    fputs("Exit codes (every command):\n"
          "  0  success: in sync, nothing found, everything repaired\n"
          "  1  discrepancies or lint errors found, or some repair failed\n"
          "  2  usage or configuration error: a bad option or value, an unreadable or\n"
          "     invalid mapping or describe file, an object missing from the org\n"
          "  3  runtime failure: connection, authentication, API limit or budget,\n"
          "     interrupted (SIGINT/SIGTERM), an unfinished run\n",
          out);
}

void sfr_cli_help(const struct sfr_cli_spec *s, FILE *out)
{
    struct sfr_cli_opt *all = sfr_calloc(count_opts(s) + 1, sizeof(*all));
    size_t n = collect(s, all);
    usage_lines(s, all, n, out);
    if (s->about != NULL)
        fprintf(out, "\n%s\n", s->about);
    fputs("\nOptions:\n", out);
    for (size_t i = 0; i < n; i++)
        option_help(s, &all[i], out);
    if (s->notes != NULL)
        fprintf(out, "\n%s\n", s->notes);
    if (s->exits != NULL)
        fprintf(out, "\n%s: %s\n", s->name, s->exits);
    fputc('\n', out);
    sfr_cli_exit_table(out);
    free(all);
}
