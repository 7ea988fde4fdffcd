/* compat.c - rewrite `let` to `var` so duktape can compile sFlow-RT apps.
 *
 * duktape 2.7 (Debian's) accepts `const` but not `let`. sFlow-RT's own apps
 * use `let` for function-local temporaries, where `var` behaves the same.
 * This is a small JavaScript lexer: it walks strings, template literals
 * (with nested ${...}), comments and regular expression literals without
 * touching them, and replaces the identifier `let` with `var` when it is
 * not a property name (no '.' before it) and is followed by a binding (an
 * identifier, '[' or '{'). The rewrite keeps the length, so error line
 * numbers still match the file. It does not give `var` block scope: a
 * closure capturing a loop's `let` variable sees the last value. Pure.
 */
#include <ctype.h>
#include <string.h>

#include "scr.h"

#define COMPAT_TPL_DEPTH 16

typedef struct compat_lex {
    char *s;
    size_t len, i;
    int regex_ok;              /* a '/' here starts a regular expression */
    int tpl[COMPAT_TPL_DEPTH]; /* brace depth at each open ${ */
    int ntpl;
    int braces;
    int count;
} compat_lex;

static int
compat_ident_start(int c)
{
    return isalpha(c) || c == '_' || c == '$' || c >= 0x80;
}

static int
compat_ident_char(int c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* After these keywords an expression (so possibly a regex) follows. */
static int
compat_keyword_before_expr(const char *w, size_t n)
{
    static const char *const kw[] = {"return", "typeof",     "case",  "do",     "else",
                                     "in",     "of",         "new",   "delete", "void",
                                     "throw",  "instanceof", "yield", NULL};

    for (int k = 0; kw[k]; k++)
        if (strlen(kw[k]) == n && memcmp(kw[k], w, n) == 0)
            return 1;
    return 0;
}

static void
compat_skip_quoted(compat_lex *x, char q)
{
    x->i++;
    while (x->i < x->len && x->s[x->i] != q && x->s[x->i] != '\n') {
        if (x->s[x->i] == '\\')
            x->i++;
        x->i++;
    }
    x->i++;
}

/* Inside a template literal: stop after the closing backtick, or after
 * "${" (pushing the brace depth so the matching '}' resumes the template). */
static void
compat_skip_template(compat_lex *x)
{
    while (x->i < x->len) {
        char c = x->s[x->i];
        if (c == '\\') {
            x->i += 2;
        } else if (c == '`') {
            x->i++;
            x->regex_ok = 0;
            return;
        } else if (c == '$' && x->i + 1 < x->len && x->s[x->i + 1] == '{' &&
                   x->ntpl < COMPAT_TPL_DEPTH) {
            x->i += 2;
            x->tpl[x->ntpl++] = x->braces++;
            x->regex_ok = 1;
            return;
        } else {
            x->i++;
        }
    }
}

static void
compat_skip_regex(compat_lex *x)
{
    int cls = 0;

    x->i++;
    while (x->i < x->len && x->s[x->i] != '\n') {
        char c = x->s[x->i];
        if (c == '\\') {
            x->i++;
        } else if (c == '[') {
            cls = 1;
        } else if (c == ']') {
            cls = 0;
        } else if (c == '/' && !cls) {
            break;
        }
        x->i++;
    }
    x->i++;
    while (x->i < x->len && compat_ident_char((unsigned char)x->s[x->i]))
        x->i++;
}

static void
compat_word(compat_lex *x)
{
    size_t start = x->i, j;
    int after_dot = 0;

    while (x->i < x->len && compat_ident_char((unsigned char)x->s[x->i]))
        x->i++;
    for (j = start; j > 0 && (x->s[j - 1] == ' ' || x->s[j - 1] == '\t'); j--)
        ;
    after_dot = j > 0 && x->s[j - 1] == '.';
    x->regex_ok = compat_keyword_before_expr(x->s + start, x->i - start);
    if (x->i - start != 3 || memcmp(x->s + start, "let", 3) != 0 || after_dot)
        return;
    for (j = x->i; j < x->len && isspace((unsigned char)x->s[j]); j++)
        ;
    if (j < x->len && j > x->i &&
        (compat_ident_start((unsigned char)x->s[j]) || x->s[j] == '[' || x->s[j] == '{')) {
        memcpy(x->s + start, "var", 3);
        x->count++;
    }
}

static void
compat_punct(compat_lex *x, char c)
{
    x->i++;
    if (c == '{') {
        x->braces++;
    } else if (c == '}') {
        x->braces--;
        if (x->ntpl > 0 && x->braces == x->tpl[x->ntpl - 1]) {
            x->ntpl--;
            compat_skip_template(x);
            return;
        }
    }
    x->regex_ok = !(c == ')' || c == ']' || c == '}');
}

int
scr_compat_let(char *src, size_t len)
{
    compat_lex x = {.s = src, .len = len, .regex_ok = 1};

    while (x.i < x.len) {
        unsigned char c = (unsigned char)x.s[x.i];
        char n = x.i + 1 < x.len ? x.s[x.i + 1] : '\0';

        if (isspace(c)) {
            x.i++;
        } else if (c == '/' && n == '/') {
            while (x.i < x.len && x.s[x.i] != '\n')
                x.i++;
        } else if (c == '/' && n == '*') {
            char *end = memmem(x.s + x.i + 2, x.len - x.i - 2, "*/", 2);
            x.i = end ? (size_t)(end - x.s) + 2 : x.len;
        } else if (c == '\'' || c == '"') {
            compat_skip_quoted(&x, (char)c);
            x.regex_ok = 0;
        } else if (c == '`') {
            x.i++;
            compat_skip_template(&x);
        } else if (c == '/' && x.regex_ok) {
            compat_skip_regex(&x);
            x.regex_ok = 0;
        } else if (compat_ident_start(c)) {
            compat_word(&x);
        } else if (isdigit(c)) {
            while (x.i < x.len && (isalnum((unsigned char)x.s[x.i]) || x.s[x.i] == '.'))
                x.i++;
            x.regex_ok = 0;
        } else {
            compat_punct(&x, (char)c);
        }
    }
    return x.count;
}
