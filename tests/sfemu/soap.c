/* soap.c — the SOAP login of sfemu (partner/enterprise API `login` and
 * `logout` calls at POST /services/Soap/{u|c}/NN.0), which client libraries
 * such as jsforce use for a username/password login by default.
 *
 * The envelope is read with a small, bounded scanner: it checks that the body
 * is an XML document whose root is a SOAP Envelope with a Body, finds the
 * operation element and the text of its username/password children (any
 * namespace prefix), and decodes the five predefined entities and character
 * references. Anything it cannot read gets a SOAP fault (HTTP 500,
 * faultcode soapenv:Client), never a crash. Bad credentials get the documented
 * sf:INVALID_LOGIN fault with a LoginFault detail. `logout` ends the session
 * named in its SessionHeader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"

#define SOAP_CTYPE "text/xml;charset=UTF-8"
#define SOAP_HEAD                                                                                  \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope "                                 \
    "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\""
#define INVALID_LOGIN_MSG "Invalid username, password, security token; or user locked out."

static void xml_text(struct sfr_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            sfr_buf_puts(b, "&amp;");
            break;
        case '<':
            sfr_buf_puts(b, "&lt;");
            break;
        case '>':
            sfr_buf_puts(b, "&gt;");
            break;
        case '"':
            sfr_buf_puts(b, "&quot;");
            break;
        default:
            sfr_buf_putc(b, *s);
        }
    }
}

static enum MHD_Result soap_fault(struct emu_req *r, const char *code, const char *msg,
                                  bool login_fault)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, SOAP_HEAD " xmlns:sf=\"urn:fault.partner.soap.sforce.com\" "
                               "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
                               "<soapenv:Body><soapenv:Fault><faultcode>");
    if (login_fault)
        sfr_buf_printf(&b, "sf:%s", code);
    else
        sfr_buf_puts(&b, code);
    sfr_buf_puts(&b, "</faultcode><faultstring>");
    if (login_fault)
        sfr_buf_printf(&b, "%s: ", code);
    xml_text(&b, msg);
    sfr_buf_puts(&b, "</faultstring>");
    if (login_fault) {
        sfr_buf_printf(&b,
                       "<detail><sf:LoginFault xsi:type=\"sf:LoginFault\"><sf:exceptionCode>%s"
                       "</sf:exceptionCode><sf:exceptionMessage>",
                       code);
        xml_text(&b, msg);
        sfr_buf_puts(&b, "</sf:exceptionMessage></sf:LoginFault></detail>");
    }
    sfr_buf_puts(&b, "</soapenv:Fault></soapenv:Body></soapenv:Envelope>");
    return emu_send(r, 500, SOAP_CTYPE, &b);
}

/* ---- a bounded element scanner ---- */

struct xml_el {
    const char *name; /* local name (after any prefix) */
    size_t name_len;
    const char *content; /* after the start tag's '>' (NULL when empty) */
    const char *end;     /* just after the whole element */
};

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':' || (unsigned char)c >= 0x80;
}

/* Skips whitespace, the XML declaration, processing instructions and comments. */
static const char *skip_misc(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (strncmp(p, "<?", 2) == 0) {
            const char *e = strstr(p, "?>");
            if (e == NULL)
                return NULL;
            p = e + 2;
        } else if (strncmp(p, "<!--", 4) == 0) {
            const char *e = strstr(p, "-->");
            if (e == NULL)
                return NULL;
            p = e + 3;
        } else {
            return p;
        }
    }
}

/* Reads the start tag at p ('<' expected) and finds its matching end tag.
 * Nested elements of the same qualified name are counted. */
static bool read_element(const char *p, struct xml_el *el)
{
    if (p == NULL || *p != '<' || !is_name_char(p[1]) || p[1] == ':')
        return false;
    const char *q = p + 1, *qname = q;
    while (is_name_char(*q))
        q++;
    size_t qlen = (size_t)(q - qname);
    const char *colon = memchr(qname, ':', qlen);
    el->name = colon ? colon + 1 : qname;
    el->name_len = qlen - (size_t)(el->name - qname);
    /* attributes: skip to '>' honouring quotes */
    char quote = 0;
    while (*q != '\0' && (quote || *q != '>')) {
        if (quote && *q == quote)
            quote = 0;
        else if (!quote && (*q == '"' || *q == '\''))
            quote = *q;
        q++;
    }
    if (*q != '>')
        return false;
    if (q[-1] == '/') {
        el->content = NULL;
        el->end = q + 1;
        return true;
    }
    el->content = q + 1;
    int depth = 1;
    const char *s = el->content;
    while ((s = strchr(s, '<')) != NULL) {
        bool close = s[1] == '/';
        const char *n = s + (close ? 2 : 1);
        if (strncmp(n, qname, qlen) == 0 && !is_name_char(n[qlen])) {
            const char *gt = strchr(n, '>');
            if (gt == NULL)
                return false;
            if (close && --depth == 0) {
                el->end = gt + 1;
                return true;
            }
            if (!close && gt[-1] != '/')
                depth++;
        }
        s++;
    }
    return false;
}

static bool name_is(const struct xml_el *el, const char *name)
{
    return el->name_len == strlen(name) && strncmp(el->name, name, el->name_len) == 0;
}

/* Finds the first child element of parent with the given local name. */
static bool find_child(const struct xml_el *parent, const char *name, struct xml_el *out)
{
    if (parent->content == NULL)
        return false;
    const char *limit = parent->end;
    const char *p = parent->content;
    while (p < limit) {
        p = skip_misc(p);
        if (p == NULL || p >= limit)
            return false;
        if (*p != '<') {
            p = strchr(p, '<');
            if (p == NULL)
                return false;
            continue;
        }
        if (p[1] == '/')
            return false; /* parent's end tag */
        struct xml_el el;
        if (!read_element(p, &el) || el.end > limit)
            return false;
        if (name_is(&el, name)) {
            *out = el;
            return true;
        }
        p = el.end;
    }
    return false;
}

/* The first child element of parent, whatever its name. */
static bool first_child(const struct xml_el *parent, struct xml_el *out)
{
    if (parent->content == NULL)
        return false;
    const char *p = parent->content;
    while (p < parent->end) {
        p = skip_misc(p);
        if (p == NULL || p >= parent->end)
            return false;
        if (*p == '<')
            return p[1] != '/' && read_element(p, out) && out->end <= parent->end;
        p++;
    }
    return false;
}

static void put_utf8(struct sfr_buf *b, unsigned long cp)
{
    if (cp < 0x80) {
        sfr_buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        sfr_buf_putc(b, (char)(0xC0 | (cp >> 6)));
        sfr_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        sfr_buf_putc(b, (char)(0xE0 | (cp >> 12)));
        sfr_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        sfr_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        sfr_buf_putc(b, (char)(0xF0 | (cp >> 18)));
        sfr_buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        sfr_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        sfr_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    }
}

/* Decoded text content of a leaf element (caller frees), NULL when it has
 * child elements or a malformed entity. */
static char *element_text(const struct xml_el *el)
{
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, "");
    if (el->content == NULL)
        return sfr_buf_steal(&b);
    /* e: start of the end tag (the element was validated by read_element) */
    const char *p = el->content, *e = el->end - 1;
    while (e > p && *e != '<')
        e--;
    while (p < e) {
        if (strncmp(p, "<![CDATA[", 9) == 0) {
            const char *ce = strstr(p + 9, "]]>");
            if (ce == NULL || ce >= e)
                goto bad;
            sfr_buf_append(&b, p + 9, (size_t)(ce - p - 9));
            p = ce + 3;
            continue;
        }
        if (*p == '<')
            goto bad;
        if (*p != '&') {
            sfr_buf_putc(&b, *p++);
            continue;
        }
        const char *semi = memchr(p, ';', (size_t)(e - p));
        if (semi == NULL || semi - p > 12)
            goto bad;
        size_t n = (size_t)(semi - p - 1);
        const char *ent = p + 1;
        if (n == 3 && strncmp(ent, "amp", 3) == 0)
            sfr_buf_putc(&b, '&');
        else if (n == 2 && strncmp(ent, "lt", 2) == 0)
            sfr_buf_putc(&b, '<');
        else if (n == 2 && strncmp(ent, "gt", 2) == 0)
            sfr_buf_putc(&b, '>');
        else if (n == 4 && strncmp(ent, "quot", 4) == 0)
            sfr_buf_putc(&b, '"');
        else if (n == 4 && strncmp(ent, "apos", 4) == 0)
            sfr_buf_putc(&b, '\'');
        else if (n >= 2 && ent[0] == '#') {
            char num[16], *endp;
            snprintf(num, sizeof num, "%.*s", (int)n - 1, ent + 1);
            unsigned long cp =
                num[0] == 'x' ? strtoul(num + 1, &endp, 16) : strtoul(num, &endp, 10);
            if (*endp != '\0' || cp == 0 || cp > 0x10FFFF)
                goto bad;
            put_utf8(&b, cp);
        } else {
            goto bad;
        }
        p = semi + 1;
    }
    return sfr_buf_steal(&b);
bad:
    sfr_buf_cleanup(&b);
    return NULL;
}

/* ---- the operations ---- */

static enum MHD_Result login_response(struct emu_req *r, const char *ver)
{
    char tok[160];
    emu_issue_token(tok);
    struct sfr_buf b = SFR_BUF_INIT;
    sfr_buf_puts(&b, SOAP_HEAD " xmlns=\"urn:partner.soap.sforce.com\" "
                               "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
                               "<soapenv:Body><loginResponse><result>");
    sfr_buf_printf(&b,
                   "<metadataServerUrl>%s/services/Soap/m/%s/%.15s</metadataServerUrl>"
                   "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
                   "<serverUrl>%s/services/Soap/u/%s/%.15s</serverUrl>"
                   "<sessionId>%s</sessionId><userId>%s</userId><userInfo>"
                   "<accessibilityMode>false</accessibilityMode>"
                   "<chatterExternal>false</chatterExternal><currencySymbol>$</currencySymbol>"
                   "<orgAttachmentFileTextEnabled>true</orgAttachmentFileTextEnabled>"
                   "<orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode>"
                   "<orgDefaultCurrencyLocale>en_US</orgDefaultCurrencyLocale>"
                   "<orgDisallowHtmlAttachments>false</orgDisallowHtmlAttachments>"
                   "<orgHasPersonAccounts>false</orgHasPersonAccounts>"
                   "<organizationId>%s</organizationId>"
                   "<organizationMultiCurrency>false</organizationMultiCurrency>"
                   "<organizationName>sfemu</organizationName>"
                   "<profileId>00eS0000000001AIAQ</profileId><roleId xsi:nil=\"true\"/>"
                   "<sessionSecondsValid>7200</sessionSecondsValid>"
                   "<userDefaultCurrencyIsoCode xsi:nil=\"true\"/><userEmail>",
                   EMU.base_url, ver, EMU.org_id, EMU.base_url, ver, EMU.org_id, tok, EMU.user_id,
                   EMU.org_id);
    xml_text(&b, EMU.user);
    sfr_buf_printf(&b,
                   "</userEmail><userFullName>Integration Admin</userFullName>"
                   "<userId>%s</userId><userLanguage>en_US</userLanguage>"
                   "<userLocale>en_US</userLocale><userName>",
                   EMU.user_id);
    xml_text(&b, EMU.user);
    sfr_buf_puts(&b, "</userName><userTimeZone>GMT</userTimeZone><userType>Standard</userType>"
                     "<userUiSkin>Theme3</userUiSkin></userInfo></result></loginResponse>"
                     "</soapenv:Body></soapenv:Envelope>");
    return emu_send(r, 200, SOAP_CTYPE, &b);
}

static enum MHD_Result do_login(struct emu_req *r, const struct xml_el *op, const char *ver)
{
    struct xml_el eu, ep;
    if (!find_child(op, "username", &eu) || !find_child(op, "password", &ep))
        return soap_fault(r, "soapenv:Client",
                          "Element {urn:partner.soap.sforce.com}username and password expected",
                          false);
    char *u = element_text(&eu), *p = element_text(&ep);
    enum MHD_Result ret;
    if (u == NULL || p == NULL) {
        ret = soap_fault(r, "soapenv:Client", "Malformed character content in login", false);
    } else if (strcmp(u, EMU.user) == 0 && strncmp(p, EMU.password, strlen(EMU.password)) == 0) {
        ret = login_response(r, ver);
    } else {
        ret = soap_fault(r, "INVALID_LOGIN", INVALID_LOGIN_MSG, true);
    }
    free(u);
    free(p);
    return ret;
}

enum MHD_Result emu_soap(struct emu_req *r)
{
    /* seg: services Soap u|c NN.0 [orgId] */
    if (r->n_seg < 4 || (strcmp(r->seg[2], "u") != 0 && strcmp(r->seg[2], "c") != 0))
        return emu_send_not_found(r);
    const char *ver = r->seg[3];
    double v = atof(ver);
    if (v < 20.0 || v > (double)EMU.api_major || strchr(ver, '.') == NULL)
        return emu_send_not_found(r);
    if (strcmp(r->method, "POST") != 0)
        return soap_fault(r, "soapenv:Client", "SOAP requests must use HTTP POST", false);
    const char *body = r->body.data ? r->body.data : "";
    if (strlen(body) != r->body.len)
        return soap_fault(r, "soapenv:Client", "Invalid byte in the request body", false);
    struct xml_el env, bodyel, op;
    const char *p = skip_misc(body);
    if (p == NULL || *p == '\0')
        return soap_fault(r, "soapenv:Client", "Premature end of file.", false);
    if (*p != '<' || !read_element(p, &env))
        return soap_fault(r, "soapenv:Client", "The request body is not well-formed XML", false);
    if (!name_is(&env, "Envelope"))
        return soap_fault(r, "soapenv:VersionMismatch", "Wrong SOAP envelope element", false);
    if (!find_child(&env, "Body", &bodyel) || !first_child(&bodyel, &op))
        return soap_fault(r, "soapenv:Client", "SOAP Body with an operation expected", false);
    if (name_is(&op, "login"))
        return do_login(r, &op, ver);
    if (name_is(&op, "logout")) {
        /* the session to end is in Header/SessionHeader/sessionId */
        struct xml_el hdr, sh, sid;
        if (find_child(&env, "Header", &hdr) && find_child(&hdr, "SessionHeader", &sh) &&
            find_child(&sh, "sessionId", &sid)) {
            char *tok = element_text(&sid);
            if (tok != NULL)
                emu_revoke_token(tok);
            free(tok);
        }
        struct sfr_buf b = SFR_BUF_INIT;
        sfr_buf_puts(&b, SOAP_HEAD " xmlns=\"urn:partner.soap.sforce.com\"><soapenv:Body>"
                                   "<logoutResponse/></soapenv:Body></soapenv:Envelope>");
        return emu_send(r, 200, SOAP_CTYPE, &b);
    }
    char msg[160];
    snprintf(msg, sizeof msg,
             "No operation available for request {urn:partner.soap.sforce.com}%.*s",
             (int)(op.name_len > 64 ? 64 : op.name_len), op.name);
    return soap_fault(r, "soapenv:Client", msg, false);
}
