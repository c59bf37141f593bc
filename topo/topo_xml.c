/* topo_xml.c — reads NCCL topology XML with libxml2: parsing with errors that name file and line, and
 * strict attribute readers. libxml2's own messages are captured, never printed. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include "topo_internal.h"

GQuark topo_error_quark(void) {
  return g_quark_from_static_string("ccsim-topo-error");
}

struct parse_errors {
  char *first; /* first error, "name:line: message" */
};

static void collect_error(void *data, xmlErrorPtr e) {
  struct parse_errors *pe = data;
  if (pe->first || !e || e->level < XML_ERR_ERROR) return;
  char *msg = g_strdup(e->message ? e->message : "malformed XML");
  g_strchomp(msg);
  pe->first = g_strdup_printf("%s:%d: %s", e->file ? e->file : "(buffer)", e->line, msg);
  g_free(msg);
}

xmlDocPtr topo_xml_parse(const char *buf, size_t len, const char *name, GError **err) {
  if (len > (size_t)INT32_MAX) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_PARSE, "%s: file too large", name);
    return NULL;
  }
  if (len == 0) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_PARSE, "%s: empty file", name);
    return NULL;
  }
  struct parse_errors pe = {0};
  xmlSetStructuredErrorFunc(&pe, collect_error);
  xmlSetGenericErrorFunc(NULL, NULL);
  xmlDocPtr doc = xmlReadMemory(buf, (int)len, name, NULL, XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOERROR |
                                                                 XML_PARSE_NOWARNING);
  xmlSetStructuredErrorFunc(NULL, NULL);
  if (!doc || pe.first) {
    g_set_error(err, TOPO_ERROR, TOPO_ERROR_PARSE, "%s", pe.first ? pe.first : "malformed XML");
    if (!pe.first) g_prefix_error(err, "%s: ", name);
    g_free(pe.first);
    if (doc) xmlFreeDoc(doc);
    return NULL;
  }
  return doc;
}

static char *where(const struct topo_xml_ctx *x, xmlNodePtr n) {
  return g_strdup_printf("%s:%ld: <%s>", x->name, n ? xmlGetLineNo(n) : 0L, n ? (const char *)n->name : "?");
}

void topo_xml_error(GError **err, int code, const struct topo_xml_ctx *x, xmlNodePtr n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  char *w = where(x, n);
  g_set_error(err, TOPO_ERROR, code, "%s %s", w, msg);
  g_free(w);
  g_free(msg);
}

void topo_xml_warn(const struct topo_xml_ctx *x, xmlNodePtr n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  char *w = where(x, n);
  g_warning("%s %s", w, msg);
  g_free(w);
  g_free(msg);
}

bool topo_xml_has(xmlNodePtr n, const char *attr) {
  return xmlHasProp(n, (const xmlChar *)attr) != NULL;
}

char *topo_xml_str(xmlNodePtr n, const char *attr) {
  xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
  if (!v) return NULL;
  char *s = g_strdup((const char *)v);
  xmlFree(v);
  return s;
}

bool topo_xml_required(const struct topo_xml_ctx *x, xmlNodePtr n, const char *attr, GError **err) {
  if (topo_xml_has(n, attr)) return true;
  topo_xml_error(err, TOPO_ERROR_INVALID, x, n, "is missing the required attribute '%s'", attr);
  return false;
}

static bool bad_value(const struct topo_xml_ctx *x, xmlNodePtr n, const char *attr, const char *v, const char *what,
                      GError **err) {
  topo_xml_error(err, TOPO_ERROR_INVALID, x, n, "attribute %s=\"%s\": %s", attr, v, what);
  return false;
}

bool topo_xml_int(const struct topo_xml_ctx *x, xmlNodePtr n, const char *attr, bool required, int *out, GError **err) {
  char *v = topo_xml_str(n, attr);
  if (!v) return required ? topo_xml_required(x, n, attr, err) : true;
  char *end;
  errno = 0;
  long long val = strtoll(v, &end, 0);
  bool ok = end != v && *end == '\0' && errno == 0 && val >= INT32_MIN && val <= INT32_MAX;
  if (ok) *out = (int)val;
  else bad_value(x, n, attr, v, "not an integer", err);
  g_free(v);
  return ok;
}

bool topo_xml_u64(const struct topo_xml_ctx *x, xmlNodePtr n, const char *attr, bool required, uint64_t *out,
                  GError **err) {
  char *v = topo_xml_str(n, attr);
  if (!v) return required ? topo_xml_required(x, n, attr, err) : true;
  /* Hashes and GUIDs are written in hex, with or without 0x (NCCL reads them with base 16). */
  char *end;
  errno = 0;
  const char *p = v;
  while (*p == ' ') p++;
  bool ok = *p != '-';
  unsigned long long val = ok ? strtoull(p, &end, 16) : 0;
  ok = ok && end != p && *end == '\0' && errno == 0;
  if (ok) *out = val;
  else bad_value(x, n, attr, v, "not a hexadecimal number", err);
  g_free(v);
  return ok;
}

bool topo_xml_double(const struct topo_xml_ctx *x, xmlNodePtr n, const char *attr, bool required, double *out,
                     GError **err) {
  char *v = topo_xml_str(n, attr);
  if (!v) return required ? topo_xml_required(x, n, attr, err) : true;
  char *end;
  errno = 0;
  double val = g_ascii_strtod(v, &end);
  bool ok = end != v && *end == '\0' && errno == 0 && val == val;
  if (ok) *out = val;
  else bad_value(x, n, attr, v, "not a number", err);
  g_free(v);
  return ok;
}

bool topo_busid_parse(const char *s, int64_t *out) {
  /* domain:bus:device.function, hex; NCCL drops the separators and reads the digits as one number. */
  char digits[17];
  int nd = 0, ncolon = 0, ndot = 0;
  for (const char *p = s; *p; p++) {
    if (*p == ':') { ncolon++; continue; }
    if (*p == '.') { ndot++; continue; }
    if (!g_ascii_isxdigit(*p) || nd == 16) return false;
    digits[nd++] = *p;
  }
  if (nd == 0 || ncolon != 2 || ndot != 1) return false;
  digits[nd] = '\0';
  uint64_t v = g_ascii_strtoull(digits, NULL, 16);
  if (v > (uint64_t)0x00ffffffffffffffULL) return false;
  *out = (int64_t)v;
  return true;
}

bool topo_xml_busid(const struct topo_xml_ctx *x, xmlNodePtr n, const char *attr, int64_t *out, char *text,
                    GError **err) {
  char *v = topo_xml_str(n, attr);
  if (!v) return topo_xml_required(x, n, attr, err);
  bool ok = strlen(v) < TOPO_BUSID_LEN && topo_busid_parse(v, out);
  if (ok && text) g_strlcpy(text, v, TOPO_BUSID_LEN);
  if (!ok) bad_value(x, n, attr, v, "not a PCI bus id (domain:bus:device.function, hex)", err);
  g_free(v);
  return ok;
}
